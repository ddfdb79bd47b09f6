"""Keeping the index equal to the disk: a full check on opening, and updates of changed paths.

``sync`` walks the project, compares each file's size and modification time
with the index and reads only what differs (plus files modified so close to
when they were last read that a change in the same clock tick could have
been missed, as git does for "racily clean" files). ``update`` handles what
the watcher reports: named files are always read again and compared by
content hash, and folders are walked again, so missed or coalesced events
inside them cannot leave the index stale.

Work is written in batches, each one transaction, so searches keep working
during a long update and an interrupted one keeps what it finished. One
lock serialises the two, so a watcher batch waits while the project opens.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from app.core.project.chunking import chunk_lines, rebuild_text, split_lines
from app.core.project.ignore import IgnoreRules
from app.core.project.index import FileRecord, FileState, IndexStore
from app.core.project.languages import language_for
from app.core.project.scanner import DiskFile, ScanCounts, scan, stat_candidate
from app.core.project.symbols import extract_outline
from app.core.project.textread import FileText, looks_generated, read_text_file

log = logging.getLogger(__name__)

BATCH_FILES = 128
# Reading and outlining (ast.parse above all) is most of the cost of indexing; from this many files on it is
# spread over worker processes (starting them costs about half a second), while this process writes SQLite.
PARALLEL_MIN_FILES = 1000
MAX_WORKERS = 4
# A file modified this close before it was read is read again on the next check (coarse clocks, same tick).
RACY_NS = 2_000_000_000
# Old text is kept for "changed since your last message" only for files up to this size.
MAX_DIFF_SOURCE_CHARS = 200_000


@dataclass(frozen=True)
class FileChange:
    """One file whose indexed content changed. Texts are given when the caller asked for them."""

    path: str
    kind: str  # "added", "modified" or "removed"
    old_text: str | None = None
    new_text: str | None = None


@dataclass
class UpdateResult:
    """What one sync or update did."""

    changes: list[FileChange] = field(default_factory=list)
    unchanged: int = 0
    skipped: int = 0  # candidates that turned out binary, unreadable, generated or gone
    interrupted: bool = False
    # Why files were left out, walk included (keys of ``scanner.SKIP_REASONS``).
    skipped_by: Counter[str] = field(default_factory=Counter)

    def count(self, kind: str) -> int:
        """How many changes were of ``kind``."""
        return sum(1 for change in self.changes if change.kind == kind)


def build_record(rel: str, content: FileText, checked_ns: int) -> FileRecord:
    """Outline and chunks of a file's text, ready to store."""
    language = language_for(rel)
    outline = extract_outline(language, content.text, rel)
    symbols = outline.symbols
    lines = split_lines(content.text)
    return FileRecord(
        path=rel,
        size=content.size,
        mtime_ns=content.mtime_ns,
        digest=content.digest,
        language=language,
        lines=len(lines),
        checked_ns=checked_ns,
        chunks=chunk_lines(lines, symbols),
        symbols=symbols,
        imports=outline.imports,
    )


@dataclass(frozen=True)
class _Outcome:
    """What reading one file gave: a record to store, an unchanged digest, or a skip."""

    rel: str
    checked_ns: int
    record: FileRecord | None = None
    same: tuple[int, int] | None = None  # (size, mtime_ns) when the content did not change
    skipped: str = ""  # why it was left out (a key of ``scanner.SKIP_REASONS``)
    text: str | None = None  # the new text, when asked for


def _read_one(root: Path, rel: str, max_bytes: int, known_digest: str | None, keep_text: bool) -> _Outcome:
    """Read and outline one file (runs in a worker process for big jobs, so it takes and returns plain data)."""
    checked_ns = time.time_ns()
    content = read_text_file(root / rel, max_bytes)
    if not isinstance(content, FileText):
        return _Outcome(rel, checked_ns, skipped="gone" if content.kind == "missing" else content.kind)
    if known_digest == content.digest:
        return _Outcome(rel, checked_ns, same=(content.size, content.mtime_ns))
    if looks_generated(rel, content.text):
        return _Outcome(rel, checked_ns, skipped="generated")
    try:
        record = build_record(rel, content, checked_ns)
    except RecursionError:  # pathological nesting in one file must not stop the others
        log.warning("could not outline %s", rel, exc_info=True)
        return _Outcome(rel, checked_ns, skipped="unreadable")
    text = content.text if keep_text and len(content.text) <= MAX_DIFF_SOURCE_CHARS else None
    return _Outcome(rel, checked_ns, record=record, text=text)


def _read_many(jobs: list[tuple[Path, str, int, str | None, bool]]) -> list[_Outcome]:
    return [_read_one(*job) for job in jobs]


def _worker_count(files: int) -> int:
    if files < PARALLEL_MIN_FILES:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(MAX_WORKERS, cores) if cores > 1 else 0


class Indexer:
    """Brings one project's ``IndexStore`` in line with its folder."""

    def __init__(
        self, root: Path, rules: IgnoreRules, store: IndexStore, max_bytes: int, max_files: int | None = None
    ) -> None:
        self.root = root
        self.rules = rules
        self.store = store
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.lock = threading.RLock()

    def sync(
        self,
        *,
        stop: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> UpdateResult:
        """Check every file by size and time and index what changed; ``stop`` interrupts between batches."""
        with self.lock:
            self.rules.forget_folders()
            counts = ScanCounts()
            disk = scan(self.root, self.rules, self.max_bytes, max_files=self.max_files, counts=counts)
            known = self.store.file_states()
            result = UpdateResult(skipped_by=counts.skipped)
            gone = sorted(known.keys() - disk.keys())
            if gone:
                self.store.write(removed=gone)
                result.changes += [FileChange(p, "removed") for p in gone]
            todo = sorted(p for p, d in disk.items() if self._differs(known.get(p), d))
            result.unchanged = len(disk) - len(todo)
            self._process(todo, known, result, keep_text=False, stop=stop, progress=progress)
            return result

    def update(self, files: Iterable[str], dirs: Iterable[str] = (), *, keep_text: bool = False) -> UpdateResult:
        """Index the current state of ``files`` and of everything below ``dirs`` (relative paths)."""
        with self.lock:
            self.rules.forget_folders()
            candidates: dict[str, DiskFile | None] = {}
            known: dict[str, FileState] = {}
            for folder in sorted(set(dirs)):
                below = scan(self.root, self.rules, self.max_bytes, under=folder)
                candidates.update(below)
                for path, state in self.store.file_states(under=folder).items():
                    known[path] = state
                    candidates.setdefault(path, None)
            for path in files:
                if path not in candidates:
                    candidates[path] = stat_candidate(self.root, path, self.rules, self.max_bytes)
            missing = [p for p in candidates if p not in known]
            known.update(self._states(missing))
            result = UpdateResult()
            gone = sorted(p for p, d in candidates.items() if d is None and p in known)
            if gone:
                olds = self._old_texts(gone, known) if keep_text else {}
                self.store.write(removed=gone)
                result.changes += [FileChange(p, "removed", olds.get(p)) for p in gone]
            todo = sorted(p for p, d in candidates.items() if d is not None)
            self._process(todo, known, result, keep_text=keep_text and len(todo) <= 100)
            return result

    # --- internals ------------------------------------------------------------------------------------------

    @staticmethod
    def _differs(state: FileState | None, disk: DiskFile) -> bool:
        if state is None or state.size != disk.size or state.mtime_ns != disk.mtime_ns:
            return True
        return state.mtime_ns >= state.checked_ns - RACY_NS

    def _states(self, paths: list[str]) -> dict[str, FileState]:
        if len(paths) > 2000:  # one pass over the table beats thousands of lookups
            every = self.store.file_states()
            return {p: every[p] for p in paths if p in every}
        return self.store.file_states_of(paths)

    def _old_texts(self, paths: Iterable[str], known: dict[str, FileState]) -> dict[str, str]:
        olds = {}
        for path in paths:
            state = known.get(path)
            if state is not None and state.size <= MAX_DIFF_SOURCE_CHARS:
                olds[path] = rebuild_text(self.store.chunk_pieces(path))
        return olds

    def _process(
        self,
        todo: list[str],
        known: dict[str, FileState],
        result: UpdateResult,
        *,
        keep_text: bool,
        stop: threading.Event | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        workers = _worker_count(len(todo))
        pool: Executor | None = None
        if workers:
            try:
                pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            except (OSError, ValueError, NotImplementedError) as err:  # no semaphores, sandboxed: read here
                log.info("indexing in one process (%s)", err)
        try:
            self._process_batches(todo, known, result, keep_text, stop, progress, pool)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _outcomes(
        self, batches: list[list[str]], known: dict[str, FileState], keep_text: bool, pool: Executor | None
    ) -> Iterator[list[_Outcome]]:
        """Each batch's outcomes, in order; with a pool the next batches are read while one is written."""

        def jobs(batch: list[str]) -> list[tuple[Path, str, int, str | None, bool]]:
            return [(self.root, rel, self.max_bytes, self._digest(known, rel), keep_text) for rel in batch]

        if pool is None:
            for batch in batches:
                yield _read_many(jobs(batch))
            return
        # Small pieces keep every worker busy; a window of submitted batches bounds the memory held.
        pieces = 8
        window: list[list[Future[list[_Outcome]]]] = []
        ahead = 4
        submitted = 0
        for index in range(len(batches)):
            while submitted < len(batches) and submitted < index + ahead:
                batch = batches[submitted]
                step = max(1, len(batch) // pieces)
                window.append([pool.submit(_read_many, jobs(batch[i : i + step])) for i in range(0, len(batch), step)])
                submitted += 1
            futures = window.pop(0)
            try:
                yield [outcome for future in futures for outcome in future.result()]
            except BrokenProcessPool:  # a worker died (out of memory, killed): read the rest here
                log.warning("an indexing worker process died; indexing the rest in this process")
                for batch in batches[index:]:
                    yield _read_many(jobs(batch))
                return

    @staticmethod
    def _digest(known: dict[str, FileState], rel: str) -> str | None:
        state = known.get(rel)
        return state.digest if state is not None else None

    def _process_batches(
        self,
        todo: list[str],
        known: dict[str, FileState],
        result: UpdateResult,
        keep_text: bool,
        stop: threading.Event | None,
        progress: Callable[[int, int], None] | None,
        pool: Executor | None,
    ) -> None:
        done = 0
        batches = [todo[start : start + BATCH_FILES] for start in range(0, len(todo), BATCH_FILES)]
        outcomes = self._outcomes(batches, known, keep_text, pool)
        for batch in batches:
            if stop is not None and stop.is_set():
                result.interrupted = True
                return
            records: list[FileRecord] = []
            removed: list[str] = []
            touched: list[tuple[str, int, int, int]] = []
            changes: list[FileChange] = []
            olds = self._old_texts([p for p in batch if p in known], known) if keep_text else {}
            for outcome in next(outcomes):
                rel = outcome.rel
                state = known.get(rel)
                if outcome.skipped:
                    result.skipped += 1
                    result.skipped_by[outcome.skipped] += 1
                    if state is not None:
                        removed.append(rel)
                        changes.append(FileChange(rel, "removed", olds.get(rel)))
                    continue
                if outcome.same is not None:
                    touched.append((rel, outcome.same[0], outcome.same[1], outcome.checked_ns))
                    result.unchanged += 1
                    continue
                assert outcome.record is not None
                records.append(outcome.record)
                kind = "added" if state is None else "modified"
                changes.append(FileChange(rel, kind, olds.get(rel), outcome.text))
            self.store.write(records, removed, touched)
            result.changes += changes
            done += len(batch)
            if progress is not None:
                progress(done, len(todo))
