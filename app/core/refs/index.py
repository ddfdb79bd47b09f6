"""The one object front-ends use: open the index, update it, check code against it."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.refs.indexer import IndexProgress, UpdateResult, update_index
from app.core.refs.matcher import DEFAULT_MIN_TOKENS, Exclusions, RefMatch, RefMatcher
from app.core.refs.normalise import language_of
from app.core.refs.sources import Source, iter_sources, project_environments
from app.core.refs.store import DAMAGED_NOTICE, IndexStats, RefStore
from app.core.refs.winnow import Winnowing

log = logging.getLogger(__name__)


def default_index_path(paths: AppPaths) -> Path:
    """Where the index lives: the cache folder (it can always be rebuilt)."""
    return paths.cache_dir / "refs" / "index.sqlite3"


@contextlib.contextmanager
def existing_index(paths: AppPaths) -> Iterator[RefIndex | None]:
    """The app's index while the block runs, or None when none has been built (never creates one)."""
    path = default_index_path(paths)
    index = None
    try:
        if path.is_file():
            index = RefIndex(path)
            if not index.store.sources():
                index.close()
                index = None
    except (sqlite3.Error, OSError, QuillpadError) as err:
        log.info("no code-reference index: %s", err)
        index = None
    try:
        yield index
    finally:
        if index is not None:
            index.close()


class RefIndex:
    """The code-reference index: what to read, the store, and checks against it."""

    def __init__(
        self,
        path: Path | str | None,
        *,
        folders: Sequence[Path] = (),
        project: Path | None = None,
        include_own_environment: bool = True,
        params: Winnowing | None = None,
    ) -> None:
        self.store = RefStore(path, params or Winnowing())
        self.folders = tuple(Path(folder) for folder in folders)
        self.project = project
        self.include_own_environment = include_own_environment

    @property
    def notice(self) -> str | None:
        """A sentence for the user when the index had to be started again."""
        return self.store.notice

    def sources(self) -> list[Source]:
        """Everything that should be in the index now."""
        environments = project_environments(self.project) if self.project is not None else []
        return list(iter_sources(environments, self.folders, include_own=self.include_own_environment))

    def update(
        self,
        *,
        progress: Callable[[IndexProgress], None] | None = None,
        cancelled: Callable[[], bool] = lambda: False,
        full: bool = False,
        sources: Iterable[Source] | None = None,
    ) -> UpdateResult:
        """Read new and changed sources, drop vanished ones; a damaged file is started again."""
        wanted = list(self.sources() if sources is None else sources)
        try:
            return update_index(self.store, wanted, progress=progress, cancelled=cancelled, full=full)
        except sqlite3.DatabaseError as err:
            log.warning("code-reference index damaged while updating (%s); starting again", err)
            self.store.reset(DAMAGED_NOTICE)
            return update_index(self.store, wanted, progress=progress, cancelled=cancelled, full=True)

    def check(
        self,
        text: str,
        *,
        language: str | None = None,
        filename: str | None = None,
        exclusions: Exclusions | None = None,
        min_tokens: int = DEFAULT_MIN_TOKENS,
    ) -> list[RefMatch]:
        """Matches of a block of code; ``language`` is a fence tag, ``filename`` its file name."""
        lang = language_of(filename, language) if (language or filename) else None
        if (language or filename) and lang is None:
            lang = "python" if not language else None
        matcher = RefMatcher(self.store, exclusions)
        try:
            return matcher.check(text, lang, min_tokens=min_tokens)
        except sqlite3.DatabaseError as err:
            log.warning("code-reference index unreadable (%s)", err)
            return []

    def stats(self) -> IndexStats:
        """What the index holds, its size and the last build's time."""
        return self.store.stats()

    def close(self) -> None:
        self.store.close()
