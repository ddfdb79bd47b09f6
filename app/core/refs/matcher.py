"""Checking a block of code against the index: which indexed files it reproduces, and where.

Every k-gram of the block is hashed (not only the winnowed ones, so any
fingerprint the index kept is found) and looked up. Each hit is then
extended token by token against the stored file in both directions, giving
the exact run of identical normalised tokens. Runs in the same file that lie
close together in both texts form one match, which tolerates statements
swapped or a line inserted; a match counts when it covers at least
``min_tokens`` tokens of the block. Files under excluded folders (the user's
own project) and the user's own distribution are never reported.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.core.refs.licences import UNKNOWN
from app.core.refs.normalise import TokenStream, normalise
from app.core.refs.sources import canonical_name
from app.core.refs.store import FileRow, RefStore
from app.core.refs.winnow import kgram_hashes, token_ids

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

log = logging.getLogger(__name__)

# About 150-160 non-blank characters of Python (3.8-4.0 per token), Copilot's
# threshold. Chosen with ``quillpad bench refs`` (README): up to 40 every
# renamed or reformatted copy was found and the most swapped-statement ones;
# 50 also silences two of twelve boilerplate snippets (a Point class with
# properties, __eq__/__hash__ over three fields) but loses copies of 45-60
# tokens and a fifth of the reordered ones. The setting can raise it.
DEFAULT_MIN_TOKENS = 40
MAX_CANDIDATE_FILES = 20  # files with the most hits; the rest are boilerplate-sized coincidences
MAX_QUERY_TOKENS = 50_000


@dataclass(frozen=True)
class RefMatch:
    """Part of the checked code that reproduces part of an indexed file."""

    lines: tuple[int, int]  # in the checked code, 1-based, inclusive
    tokens: int  # normalised tokens of the checked code covered
    path: str  # the indexed file, absolute
    display_path: str  # relative to its package or folder, e.g. "requests/models.py"
    source_lines: tuple[int, int]
    package: str
    version: str
    licence: str | None
    kind: str  # "package" or "folder"

    @property
    def line_count(self) -> int:
        return self.lines[1] - self.lines[0] + 1

    @property
    def licence_text(self) -> str:
        return self.licence or UNKNOWN

    def describe(self) -> str:
        """One sentence, e.g. "Matches 31 lines of `pkg/module.py` (lines 10–40) from pkg 2.1 (BSD-3-Clause)"."""
        origin = f"{self.package} {self.version}".strip() if self.kind == "package" else f"folder {self.package}"
        count = self.line_count
        return (
            f"Matches {count} line{'s' if count != 1 else ''} of `{self.display_path}` "
            f"(lines {self.source_lines[0]}–{self.source_lines[1]}) from {origin} ({self.licence_text})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "lines": list(self.lines),
            "tokens": self.tokens,
            "path": self.path,
            "display_path": self.display_path,
            "source_lines": list(self.source_lines),
            "package": self.package,
            "version": self.version,
            "licence": self.licence_text,
            "kind": self.kind,
            "description": self.describe(),
        }


@dataclass(frozen=True)
class Exclusions:
    """What is never reported: the user's own code."""

    folders: tuple[Path, ...] = ()
    distributions: frozenset[str] = frozenset()  # canonical names

    def excludes(self, row: FileRow) -> bool:
        if row.source.kind == "package":
            # A package installed in an environment inside the project (its .venv) is other
            # people's code; only the project's own distribution is the user's.
            return canonical_name(row.source.name) in self.distributions
        path = Path(row.path)
        return any(path.is_relative_to(folder) for folder in self.folders)


def project_exclusions(root: Path | None) -> Exclusions:
    """The user's project: its folder, and the distribution its pyproject.toml names."""
    if root is None:
        return Exclusions()
    root = root.expanduser().resolve()
    names: set[str] = set()
    try:
        data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        name = data.get("project", {}).get("name")
        if isinstance(name, str) and name:
            names.add(canonical_name(name))
    except (OSError, ValueError, AttributeError):
        pass
    return Exclusions((root,), frozenset(names))


@dataclass
class _Run:
    q0: int
    q1: int  # exclusive
    s0: int
    s1: int


def _extend(query: npt.NDArray[np.uint32], source: npt.NDArray[np.uint32], q: int, s: int, k: int) -> _Run | None:
    """The maximal run of equal tokens through the k-gram at (q, s), or None if it is a hash collision."""
    if s + k > len(source) or not np.array_equal(query[q : q + k], source[s : s + k]):
        return None
    q0, s0 = q, s
    while q0 > 0 and s0 > 0 and query[q0 - 1] == source[s0 - 1]:
        q0, s0 = q0 - 1, s0 - 1
    q1, s1 = q + k, s + k
    # Forward in blocks: long copies are the common case worth being quick on.
    while q1 < len(query) and s1 < len(source):
        span = min(64, len(query) - q1, len(source) - s1)
        diff = np.nonzero(query[q1 : q1 + span] != source[s1 : s1 + span])[0]
        if len(diff):
            q1, s1 = q1 + int(diff[0]), s1 + int(diff[0])
            break
        q1, s1 = q1 + span, s1 + span
    return _Run(q0, q1, s0, s1)


def _regions(runs: list[_Run], gap: int) -> list[list[_Run]]:
    """Runs close together in both texts, grouped (statements swapped, a line inserted)."""
    runs.sort(key=lambda run: (run.q0, run.s0))
    groups: list[list[_Run]] = []
    for run in runs:
        for group in groups:
            q_end = max(r.q1 for r in group)
            s_lo, s_hi = min(r.s0 for r in group), max(r.s1 for r in group)
            if run.q0 <= q_end + gap and s_lo - gap <= run.s0 <= s_hi + gap:
                group.append(run)
                break
        else:
            groups.append([run])
    return groups


def _distinct(group: Sequence[_Run], hashes: npt.NDArray[np.uint64], k: int) -> int:
    """The match's length with repeats counted once: distinct k-grams plus k - 1.

    A run of ``self.x = x`` lines, or of ``add_argument`` calls, is long but
    says little; counted this way it is as long as one period of its pattern.
    """
    seen: set[int] = set()
    for run in group:
        seen.update(hashes[run.q0 : max(run.q0, run.q1 - k + 1)].tolist())
    return len(seen) + k - 1 if seen else 0


def _covered(group: Sequence[_Run]) -> int:
    spans = sorted((run.q0, run.q1) for run in group)
    total, end = 0, -1
    for start, stop in spans:
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


class RefMatcher:
    """Checks code against a ``RefStore``."""

    def __init__(self, store: RefStore, exclusions: Exclusions | None = None) -> None:
        self.store = store
        self.exclusions = exclusions or Exclusions()

    def check(self, text: str, language: str | None = None, *, min_tokens: int = DEFAULT_MIN_TOKENS) -> list[RefMatch]:
        """Matches of ``text`` (in ``language``, None for Python), longest first; never raises for bad text."""
        stream = normalise(text, language)
        return self.check_tokens(stream, min_tokens=min_tokens)

    def check_tokens(self, stream: TokenStream, *, min_tokens: int = DEFAULT_MIN_TOKENS) -> list[RefMatch]:
        """As ``check``, for text already normalised."""
        k = self.store.params.k
        if len(stream) < max(k, min_tokens):
            return []
        tokens = stream.tokens[:MAX_QUERY_TOKENS]
        ids = token_ids(tokens)
        query = ids.astype(np.uint32)
        hashes = kgram_hashes(ids, k)
        positions: dict[int, list[int]] = {}
        for pos, value in enumerate(hashes.tolist()):
            positions.setdefault(value, []).append(pos)
        try:
            hits = self.store.lookup(list(positions))
        except sqlite3.Error as err:
            log.warning("code-reference lookup failed: %s", err)
            return []
        by_file: dict[int, list[tuple[int, int]]] = {}
        for value, file_id, spos in hits:
            for qpos in positions[value]:
                by_file.setdefault(file_id, []).append((qpos, spos))
        ranked = sorted(by_file, key=lambda fid: len(by_file[fid]), reverse=True)[:MAX_CANDIDATE_FILES]
        try:
            rows = self.store.files(ranked)
        except sqlite3.Error as err:
            log.warning("code-reference lookup failed: %s", err)
            return []
        matches: list[RefMatch] = []
        for file_id in ranked:
            row = rows.get(file_id)
            if row is None or self.exclusions.excludes(row):
                continue
            matches.extend(self._file_matches(row, by_file[file_id], query, hashes, stream, min_tokens))
        matches.sort(key=lambda m: (-m.tokens, m.lines[0], m.display_path))
        return _drop_duplicates(matches)

    def _file_matches(
        self,
        row: FileRow,
        hits: list[tuple[int, int]],
        query: npt.NDArray[np.uint32],
        hashes: npt.NDArray[np.uint64],
        stream: TokenStream,
        min_tokens: int,
    ) -> list[RefMatch]:
        try:
            source = self.store.tokens(row.id)
        except sqlite3.Error:
            return []
        if source is None:
            return []
        k = self.store.params.k
        runs: list[_Run] = []
        seen: set[tuple[int, int]] = set()  # (diagonal, run start) already found
        for qpos, spos in sorted(hits):
            if any(r.q0 <= qpos < r.q1 and r.s0 - r.q0 == spos - qpos for r in runs):
                continue
            run = _extend(query, source, qpos, spos, k)
            if run is None or (run.s0 - run.q0, run.q0) in seen:
                continue
            seen.add((run.s0 - run.q0, run.q0))
            runs.append(run)
        found = []
        source_lines = None
        for group in _regions(runs, gap=min_tokens):
            covered = _covered(group)
            if covered < min_tokens or _distinct(group, hashes, k) < min_tokens:
                continue
            if source_lines is None:
                source_lines = self.store.token_lines(row.id)
                if source_lines is None:
                    return []
            q0, q1 = min(r.q0 for r in group), max(r.q1 for r in group)
            s0, s1 = min(r.s0 for r in group), max(r.s1 for r in group)
            found.append(
                RefMatch(
                    lines=(stream.lines[q0], stream.lines[q1 - 1]),
                    tokens=covered,
                    path=row.path,
                    display_path=row.display,
                    source_lines=(int(source_lines[s0]), int(source_lines[s1 - 1])),
                    package=row.source.name,
                    version=row.source.version,
                    licence=row.source.licence,
                    kind=row.source.kind,
                )
            )
        return found


def _drop_duplicates(matches: Iterable[RefMatch]) -> list[RefMatch]:
    """One match per stretch of the checked code and package: the same file vendored twice says nothing new."""
    kept: list[RefMatch] = []
    for match in matches:
        if any(
            other.package == match.package
            and other.display_path == match.display_path
            and other.lines[0] <= match.lines[1]
            and match.lines[0] <= other.lines[1]
            for other in kept
        ):
            continue
        kept.append(match)
    return kept


def matched_lines(matches: Iterable[RefMatch]) -> set[int]:
    """Every line of the checked code that some match covers (for highlighting)."""
    return {line for match in matches for line in range(match.lines[0], match.lines[1] + 1)}
