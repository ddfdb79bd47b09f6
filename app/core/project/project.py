"""``Project``: the open project folder as the rest of the app sees it.

It ties the parts together: the ignore rules, the index in the data folder
(``projects/<name>-<hash>/index.sqlite3``), the indexer, the watcher, the
change tracker and the context assembler. ``open()`` indexes (the first
time) or catches up (later: only what changed while the app was closed);
``start_watching()`` keeps the index current while the project is open;
``assemble_context()`` builds what is attached to a message.

Every method may be called from any thread. ``open()`` can take a while on
a big project, so the GUI calls it from a worker thread; searching works
meanwhile, on what is indexed so far. ``stop()`` ends the watcher's threads
and interrupts a running ``open()`` between batches.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType

from app.core.project.changes import ChangeTracker
from app.core.project.errors import InvalidQueryError, ProjectError, ProjectFolderError
from app.core.project.ignore import IgnoreRules
from app.core.project.imports import pagerank, reference_graph
from app.core.project.index import FileState, IndexStore, SearchHit
from app.core.project.indexer import Indexer, UpdateResult
from app.core.project.mentions import Mention, MentionResolver, find_mentions
from app.core.project.query import build_match
from app.core.project.ranking import RecencyHints, neighbours, rank
from app.core.project.repo_map import build_repo_map
from app.core.project.retrieval import AssembledContext, ContextSources, assemble_context
from app.core.project.scanner import describe_skips
from app.core.project.symbols import Symbol
from app.core.project.textread import FileText, NotText, read_text_file
from app.core.project.tokens import TokenCounter
from app.core.project.watch_mechanisms import MechanismFactory
from app.core.project.watcher import (
    DEFAULT_DEBOUNCE,
    DEFAULT_MAX_DELAY,
    DEFAULT_POLL_INTERVAL,
    Attempt,
    Batch,
    ProjectWatcher,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_FILE_BYTES = 1_000_000
# A project of more files than this is most likely a home folder or a disk opened by mistake; the shallowest
# files are indexed and the rest counted (indexing runs at a few hundred files a second).
DEFAULT_MAX_FILES = 50_000
# The reference graph is a prior: after changes it is rebuilt at most this often (rebuilding costs ~0.1 s per
# 1,000 files), so a burst of saves does not rebuild it each time.
GRAPH_REFRESH_SECONDS = 30.0
RECENT_FILES = 20
INDEX_FILE_NAME = "index.sqlite3"


@dataclass(frozen=True)
class _ReferenceGraph:
    generation: int
    built: float  # time.monotonic()
    edges: dict[str, set[str]]
    centrality: dict[str, float]


@dataclass(frozen=True)
class IndexStats:
    """The index after ``open()``, and what this run changed."""

    files: int
    chunks: int
    bytes: int
    seconds: float
    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: int
    interrupted: bool = False
    skipped_by: dict[str, int] = field(default_factory=dict)  # reason -> files (see ``scanner.SKIP_REASONS``)

    def to_dict(self) -> dict[str, int | float | bool | dict[str, int]]:
        """The figures as a JSON-ready mapping."""
        return asdict(self)

    def skipped_text(self) -> str:
        """What was left out and why, e.g. "3 binary, 1 over the size limit" ("" when nothing was)."""
        return describe_skips(self.skipped_by)


def project_index_path(root: Path, data_dir: Path) -> Path:
    """Where the index of the project at ``root`` lives: one folder per project under ``data_dir/projects``."""
    resolved = os.path.realpath(root)
    digest = hashlib.sha256(os.fsencode(resolved)).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(resolved).name)[:40].strip("._") or "root"
    return data_dir / "projects" / f"{name}-{digest}" / INDEX_FILE_NAME


class Project:
    """One open project folder: its index, watcher and context (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        data_dir: Path,
        *,
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
        max_files: int | None = DEFAULT_MAX_FILES,
        debounce_seconds: float = DEFAULT_DEBOUNCE,
        max_delay_seconds: float = DEFAULT_MAX_DELAY,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_watches: int | None = None,
        force_polling: bool = False,
        watch_mechanisms: Sequence[MechanismFactory] | None = None,
    ) -> None:
        """Prepare the project at ``root``; nothing is read or written until ``open()``.

        ``data_dir`` is the app's data folder (the index goes below it, see ``project_index_path``); files
        over ``max_file_bytes`` are not indexed. The watcher applies changes once the folder has been quiet
        for ``debounce_seconds`` (at the latest ``max_delay_seconds`` after the first change), polls every
        ``poll_interval`` seconds when it has to poll, and uses at most ``max_watches`` inotify watches
        (None: the system's limit); ``watch_mechanisms`` replaces the ways of watching tried in order (see
        ``watch_mechanisms.default_mechanisms``), ``force_polling`` keeps only the last one. At most
        ``max_files`` files are indexed (None: no limit; the rest are counted in ``IndexStats.skipped_by``).
        Raises ``ProjectFolderError`` when ``root`` is not an existing folder.
        """
        resolved = Path(os.path.realpath(Path(root).expanduser()))
        if not resolved.is_dir():
            what = "does not exist" if not resolved.exists() else "is not a folder"
            raise ProjectFolderError(f"{root} {what}; choose an existing project folder.")
        if max_files is not None and max_files <= 0:
            raise InvalidQueryError(f"The file count limit must be a positive number (got {max_files}).")
        if max_file_bytes <= 0:
            raise InvalidQueryError(f"The file size limit must be a positive number of bytes (got {max_file_bytes}).")
        self.root = resolved
        self.name = resolved.name or str(resolved)
        self.data_dir = data_dir
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files
        self.index_path = project_index_path(resolved, data_dir)
        # A data folder inside the project must not be indexed: every index write would be a change to index.
        own = self.relative(Path(os.path.realpath(self.index_path.parent.parent)))
        self.rules = IgnoreRules(resolved, excluded=[own] if own and own != "." else [])
        self._debounce = debounce_seconds
        self._max_delay = max_delay_seconds
        self._poll_interval = poll_interval
        self._max_watches = max_watches
        self._force_polling = force_polling
        self._watch_mechanisms = watch_mechanisms
        self._lock = threading.RLock()
        self._notices: list[str] = []
        self._store: IndexStore | None = None
        self._indexer: Indexer | None = None
        self._watcher: ProjectWatcher | None = None
        self._on_change: Callable[[list[str]], None] | None = None
        self._on_notice: Callable[[str], None] | None = None
        self._stop = threading.Event()
        self._tracker = ChangeTracker()
        self._generation = 0
        # Both are rebuilt when the index changes (the generation counts changes).
        self._symbol_counts: tuple[int, dict[str, int]] | None = None
        self._resolver: tuple[int, MentionResolver] | None = None
        self._graph: _ReferenceGraph | None = None
        self._recent: OrderedDict[str, str] = OrderedDict()

    # --- state ----------------------------------------------------------------------------------------------

    @property
    def notice(self) -> str | None:
        """What the user should know about how the project is watched or stored (each said once), or None."""
        with self._lock:
            return " ".join(self._notices) or None

    @property
    def watch_mode(self) -> str:
        """How changes are noticed: "inotify", "native", "polling", "starting" (being proved) or "stopped"."""
        watcher = self._watcher
        return watcher.mode if watcher is not None else "stopped"

    @property
    def watch_attempts(self) -> list[Attempt]:
        """The ways of watching tried when watching started, and why each one not in use failed."""
        watcher = self._watcher
        return list(watcher.attempts) if watcher is not None else []

    def _note(self, message: str) -> None:
        with self._lock:
            if message in self._notices:
                return
            self._notices.append(message)
            callback = self._on_notice
        log.info("project %s: %s", self.root, message)
        if callback is not None:
            callback(message)

    def _ensure_index(self) -> Indexer:
        with self._lock:
            if self._indexer is None:
                store = IndexStore(self.index_path)
                if store.notice:
                    self._note(store.notice)
                self._store = store
                self._indexer = Indexer(self.root, self.rules, store, self.max_file_bytes, self.max_files)
            return self._indexer

    @property
    def _index(self) -> IndexStore:
        return self._ensure_index().store

    # --- lifecycle ------------------------------------------------------------------------------------------

    def open(self, progress: Callable[[int, int], None] | None = None) -> IndexStats:
        """Index the project, or catch up with what changed since it was last indexed.

        ``progress(done, total)`` is called after each batch of files read. Safe to call from a worker
        thread while other threads search; ``stop()`` interrupts it between batches.
        """
        started = time.perf_counter()
        if not self.root.is_dir():
            raise ProjectFolderError(f"The project folder {self.root} no longer exists; open another folder.")
        indexer = self._ensure_index()
        self._stop.clear()
        try:
            result = indexer.sync(stop=self._stop, progress=progress)
        except sqlite3.Error as err:
            raise ProjectError(
                f"The project index could not be updated ({err}); check the free space in {self.data_dir} "
                "and open the project again."
            ) from err
        self._changed(result, track=False)
        self._reference_graph(refresh=True)
        totals = indexer.store.totals()
        return IndexStats(
            files=totals.files,
            chunks=totals.chunks,
            bytes=totals.bytes,
            seconds=time.perf_counter() - started,
            added=result.count("added"),
            updated=result.count("modified"),
            removed=result.count("removed"),
            unchanged=result.unchanged,
            skipped=result.skipped,
            interrupted=result.interrupted,
            skipped_by=dict(result.skipped_by),
        )

    def start_watching(
        self,
        on_change: Callable[[list[str]], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        """Keep the index current from now on (call after ``open()``).

        ``on_change`` receives the relative paths whose indexed content changed, after each debounced
        batch is indexed; ``on_notice`` receives each new notice (the watch limit was reached, the folder
        was deleted) once. Both are called on the watcher's thread. A first full check catches changes
        made while ``open()`` was running.
        """
        self._ensure_index()
        with self._lock:
            self._on_change = on_change
            self._on_notice = on_notice
            if self._watcher is not None:
                return
            self._stop.clear()
            self._watcher = ProjectWatcher(
                self.root,
                self.rules,
                self._apply_batch,
                debounce=self._debounce,
                max_delay=self._max_delay,
                poll_interval=self._poll_interval,
                max_watches=self._max_watches,
                force_polling=self._force_polling,
                on_notice=self._note,
                mechanisms=self._watch_mechanisms,
                probe_parent=self.index_path.parent,  # private, and never indexed even inside the project
            )
            watcher = self._watcher
        try:
            watcher.start()
        except OSError as err:
            with self._lock:
                self._watcher = None
            watcher.stop()
            raise ProjectFolderError(
                f"Quillpad cannot watch {self.root} for changes ({err.strerror or err}); check that the folder "
                "still exists and open it again."
            ) from err
        watcher.request_full_check()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the watcher has indexed every change it has seen (True), or ``timeout`` passed (False).

        True at once when not watching. For tests, benchmarks and scripts; the GUI uses ``on_change``.
        """
        watcher = self._watcher
        return True if watcher is None else watcher.wait_idle(timeout)

    def stop(self) -> None:
        """Stop watching and interrupt a running ``open()``; no thread is left running. Idempotent."""
        self._stop.set()
        with self._lock:
            watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()

    def close(self) -> None:
        """``stop()``, then close the index file."""
        self.stop()
        with self._lock:
            store, self._store, self._indexer = self._store, None, None
        if store is not None:
            store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def refresh(self, paths: Sequence[str]) -> list[str]:
        """Index ``paths`` now (relative or absolute; others are ignored) and return those whose content
        changed. The editor calls this after a save, so a saved file is searchable without waiting for the
        watcher to notice (which then finds nothing left to do). Safe from any thread."""
        rels = [r for r in (self.relative(p) for p in paths) if r is not None]
        if not rels:
            return []
        result = self._ensure_index().update(rels, keep_text=True)
        self._changed(result, track=True)
        return sorted({change.path for change in result.changes})

    def _apply_batch(self, batch: Batch) -> None:
        indexer = self._ensure_index()
        if batch.full or batch.root_gone:
            result = indexer.sync(stop=self._stop)
            if result.interrupted:
                return
        else:
            result = indexer.update(batch.files, batch.dirs, keep_text=True)
        self._changed(result, track=True)
        if result.changes:
            # After the write, so the change is searchable before the (throttled) rebuild of the prior.
            self._reference_graph()

    def _changed(self, result: UpdateResult, *, track: bool) -> None:
        if not result.changes:
            return
        with self._lock:
            self._generation += 1
            callback = self._on_change
        if track:
            self._tracker.record(result.changes)
            for change in result.changes:
                if change.kind != "removed":
                    self.note_file(change.path, "edited")
            if callback is not None:
                callback(sorted({change.path for change in result.changes}))

    # --- questions ------------------------------------------------------------------------------------------

    def files(self) -> list[str]:
        """Indexed files, as relative paths with ``/``, sorted (for ``@path`` completion)."""
        return self._index.paths()

    def symbols(self, paths: Sequence[str]) -> dict[str, list[Symbol]]:
        """The outline symbols (definitions) the index holds for each of ``paths`` (relative)."""
        return self._index.symbols(paths)

    def indexed_file_states(self, under: str = "") -> dict[str, FileState]:
        """Size and modification time of every indexed file below ``under`` (relative; "" for all), as
        the index last saw them: what the watcher has caught up with, compared with the disk."""
        return self._index.file_states(under=under)

    def search(self, query: str, k: int = 10, *, current_file: str | None = None) -> list[SearchHit]:
        """The ``k`` chunks that best answer ``query``, best first, each saying why it was chosen; [] for a
        query without words. See ``ranking`` for how definitions, names, references and recency count;
        ``current_file`` (relative) counts as opened, and the files it references as related."""
        if k <= 0:
            raise InvalidQueryError(f"The number of results must be at least 1 (got {k}).")
        with self._lock:
            graph = self._graph
            recent = dict(self._recent)
        if graph is None:  # searching before open() finished: build it once; later the watcher refreshes it
            graph = self._reference_graph(refresh=True)
        if current_file:
            recent.setdefault(current_file, "opened")
        recency = RecencyHints(recent, neighbours(graph.edges, list(recent)) if recent else frozenset())
        return rank(self._index, query, k, centrality=graph.centrality, recency=recency)

    def search_words(self, query: str, k: int = 10) -> list[SearchHit]:
        """Plain bm25 over the chunks' words (no code-aware ranking): the baseline the benchmarks compare with."""
        if k <= 0:
            raise InvalidQueryError(f"The number of results must be at least 1 (got {k}).")
        match = build_match(query, compounds=False)
        return self._index.search(match, k) if match else []

    def note_file(self, path: str, how: str = "opened") -> None:
        """The user opened or edited ``path`` (relative or absolute): its chunks rank higher for a while.

        ``how`` is "opened" or "edited" (shown as the reason); the last ``RECENT_FILES`` files are kept.
        """
        rel = self.relative(path)
        if rel is None:
            return
        with self._lock:
            if self._recent.get(rel) == "edited" and how == "opened":
                how = "edited"  # edited says more than opened
            self._recent[rel] = how
            self._recent.move_to_end(rel)
            while len(self._recent) > RECENT_FILES:
                self._recent.popitem(last=False)

    def recent_files(self) -> list[str]:
        """Files noted with ``note_file`` (or changed while watching), most recent last."""
        with self._lock:
            return list(self._recent)

    def _reference_graph(self, *, refresh: bool = False) -> _ReferenceGraph:
        """The import graph and PageRank centrality, rebuilt when the index changed (at most every
        ``GRAPH_REFRESH_SECONDS`` unless ``refresh``). Called by ``open()`` and after watcher batches, never
        by a search that has a graph already, so no question waits for it."""
        with self._lock:
            cached, generation = self._graph, self._generation
        now = time.monotonic()
        if cached is not None and (
            cached.generation == generation or (not refresh and now - cached.built < GRAPH_REFRESH_SECONDS)
        ):
            return cached
        store = self._index
        paths = store.paths()
        edges = reference_graph(store.all_imports(), paths)
        graph = _ReferenceGraph(generation, now, edges, pagerank(edges, paths))
        with self._lock:
            self._graph = graph
        return graph

    def relative(self, path: str | Path) -> str | None:
        """``path`` relative to the root with ``/`` separators, or None when it is outside the project."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        rel = os.path.relpath(os.path.normpath(candidate), self.root)
        if rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
            return None
        return rel.replace(os.sep, "/")

    def read(self, path: str) -> FileText | NotText:
        """A file's text as it would be attached (relative to the root, or absolute)."""
        candidate = Path(path)
        return read_text_file(candidate if candidate.is_absolute() else self.root / path, self.max_file_bytes)

    def mentions(self, message: str) -> list[Mention]:
        """The ``@path`` mentions in ``message``, resolved (refused ones carry a one-sentence problem)."""
        raws = find_mentions(message)
        if not raws:
            return []
        with self._lock:
            cached, generation = self._resolver, self._generation
        if cached is None or cached[0] != generation:
            resolver = MentionResolver(self.root, self.rules, self._index.paths(), self.max_file_bytes)
            with self._lock:
                self._resolver = (generation, resolver)
        else:
            resolver = cached[1]
        return resolver.resolve_all(raws)

    def changed_since_last_message(self) -> list[str]:
        """Files changed (as seen by the watcher) since ``mark_message_sent()``."""
        return self._tracker.paths()

    def mark_message_sent(self) -> None:
        """The user sent a message: the next "changed since your last message" starts from now."""
        self._tracker.mark()

    def _counts(self) -> dict[str, int]:
        with self._lock:
            cached = self._symbol_counts
            generation = self._generation
        if cached is not None and cached[0] == generation:
            return cached[1]
        counts = self._index.symbol_counts()
        with self._lock:
            self._symbol_counts = (generation, counts)
        return counts

    def repo_map(
        self,
        query: str = "",
        open_files: Sequence[str] = (),
        budget_tokens: int = 1024,
        count_tokens: TokenCounter | None = None,
        open_texts: Mapping[str, str] | None = None,
    ) -> str:
        """The repository map ranked for ``query`` and ``open_files`` (relative or absolute), within the budget."""
        rels = [r for r in (self.relative(f) for f in open_files) if r is not None]
        texts = dict(open_texts or {})
        for rel in rels:
            if rel not in texts:
                content = self.read(rel)
                if isinstance(content, FileText):
                    texts[rel] = content.text
        return build_repo_map(
            self._index,
            query=query,
            open_files=rels,
            open_texts=texts,
            budget_tokens=budget_tokens,
            count_tokens=count_tokens,
            symbol_counts=self._counts(),
        )

    def assemble_context(
        self,
        message: str,
        *,
        current_file: str | None,
        selection: str | None,
        budget_tokens: int,
        count_tokens: Callable[[str], int] | None = None,
        current_text: str | None = None,
        selection_lines: tuple[int, int] | None = None,
        cursor_line: int | None = None,
    ) -> AssembledContext:
        """What to attach to ``message`` within ``budget_tokens`` (see ``retrieval`` for the rules).

        ``cursor_line`` (1-based) lets a big current file be attached as the lines around the cursor.

        ``current_file`` is relative to the root or absolute; ``current_text`` is the editor's text when it
        has unsaved changes (else the file is read). ``count_tokens`` defaults to an estimate of
        characters / 3.5; pass the model's tokenizer for exact counts.
        """
        current = None
        if current_file:
            current = self.relative(current_file) or str(current_file)
        store = self._index

        def repo_map(
            query: str, open_files: Sequence[str], texts: Mapping[str, str], budget: int, count: TokenCounter
        ) -> str:
            return self.repo_map(query, open_files, budget, count, texts)

        sources = ContextSources(
            project_name=self.name,
            read_file=self.read,
            resolve_mentions=self.mentions,
            search=lambda query, k: self.search(query, k, current_file=current),
            changes=self._tracker.summary,
            repo_map=repo_map,
            has_files=store.totals().files > 0,
        )
        return assemble_context(
            sources,
            message,
            current_file=current,
            selection=selection,
            budget_tokens=budget_tokens,
            count_tokens=count_tokens,
            current_text=current_text,
            selection_lines=selection_lines,
            cursor_line=cursor_line,
        )
