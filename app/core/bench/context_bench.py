"""``quillpad bench context``: how fast the project index is built, searched and kept current.

The folder's candidate files (what the index would read: ignored folders,
binary names and files over the size limit left out) are first copied to a
temporary folder, because the edit phase writes to them; the user's folder
is only read. Then, on the copy, with a temporary data folder:

1. the initial index: time and files per second;
2. reopening with nothing changed (the check of sizes and times);
3. resident memory after indexing, and the process's peak;
4. query latency over queries made from the project's own definitions;
5. save-to-searchable: with the watcher running, a unique word is appended
   to a file and the index is searched for it until it is found;
6. a burst: ``burst`` files created in new folders, a quarter of them
   modified, half deleted (and some of their folders removed), all at once,
   then the time until the watcher is idle and whether the index then holds
   exactly the files on disk (path, size and time).

The watcher's mechanism and how fast its start-up probe's event came are
printed too. With ``compare_watchers``, three ways of watching a generated
5,000-folder tree are compared side by side (see ``watch_compare``).

Reads come from the page cache (the copy was just written), so the index
time is the CPU cost of indexing, not of a cold disk.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.bench.watch_compare import WatchWay, compare_watchers
from app.core.bench.watch_compare import report as watch_report
from app.core.project import Project, ProjectFolderError
from app.core.project.ignore import IgnoreRules
from app.core.project.project import DEFAULT_MAX_FILE_BYTES
from app.core.project.scanner import scan
from app.core.project.textread import human_size

TARGET_FILES = 5000
TARGET_INDEX_SECONDS = 25.0
TARGET_QUERY_P95 = 0.050
TARGET_SAVE_P95 = 1.0
SAVE_TIMEOUT = 30.0
BURST_TIMEOUT = 300.0
COMPARE_FOLDERS = 5000
COMPARE_IGNORED = 2000
QUERY_COUNT = 200
_QUESTION_TEMPLATES = (
    "how does {a} work",
    "where is {a} called from {b}",
    "fix the bug in {a} when {b} fails",
    "{a} {b}",
    "explain {a}",
)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class ContextBenchResult:
    """Everything the bench measured; times in seconds, memory in bytes."""

    folder: str
    files: int = 0
    chunks: int = 0
    bytes: int = 0
    copied_files: int = 0
    index_seconds: float = 0.0
    reopen_seconds: float = 0.0
    index_cpu_seconds: float = 0.0  # this process and its worker processes
    rss_bytes: int = 0
    peak_rss_bytes: int = 0
    query_latencies: list[float] = field(default_factory=list)
    query_cpu: list[float] = field(default_factory=list)  # CPU time of each query (load-independent)
    save_latencies: list[float] = field(default_factory=list)
    editor_save_latencies: list[float] = field(default_factory=list)  # saved through the editor (refresh)
    save_timeouts: int = 0
    watch_mode: str = ""
    watch_detail: str = ""
    notice: str | None = None
    burst_files: int = 0
    burst_seconds: float = 0.0
    burst_settled: bool = False
    burst_mismatches: list[str] = field(default_factory=list)
    watch_ways: list[WatchWay] | None = None  # None: not compared

    @property
    def files_per_second(self) -> float:
        """Initial indexing rate."""
        return self.files / self.index_seconds if self.index_seconds > 0 else 0.0

    def report(self) -> str:
        """A plain-text table of the figures, with the targets beside them."""
        ms = 1000.0
        rate = self.files_per_second
        projected = TARGET_FILES / rate if rate else float("inf")
        q50, q95 = statistics.median(self.query_latencies or [0.0]), percentile(self.query_latencies, 95)
        s50, s95 = statistics.median(self.save_latencies or [0.0]), percentile(self.save_latencies, 95)
        e50 = statistics.median(self.editor_save_latencies or [0.0])
        e95 = percentile(self.editor_save_latencies, 95)

        def verdict(ok: bool) -> str:
            return "meets target" if ok else "MISSES target"

        lines = [
            f"folder: {self.folder}",
            f"copied to a temporary folder: {self.copied_files:,} candidate files; indexed {self.files:,} text files, "
            f"{self.chunks:,} chunks, {human_size(self.bytes)}",
            "",
            f"{'initial index':<28}{self.index_seconds:>9.2f} s   {rate:,.0f} files/s   "
            f"(5,000 files in {projected:.1f} s: {verdict(projected < TARGET_INDEX_SECONDS)}, target < 25 s)",
            f"{'  CPU time':<28}{self.index_cpu_seconds:>9.2f} s   (all processes; on a quiet machine the wall "
            "time approaches CPU / cores)",
            f"{'reopen, nothing changed':<28}{self.reopen_seconds:>9.3f} s",
            f"{'resident memory':<28}{self.rss_bytes / 1024**2:>9.1f} MB  after indexing "
            f"(process peak {self.peak_rss_bytes / 1024**2:.1f} MB)",
            f"{'query latency':<28}{q50 * ms:>9.1f} ms median, {q95 * ms:.1f} ms p95 over "
            f"{len(self.query_latencies)} queries ({verdict(q95 < TARGET_QUERY_P95)}, target p95 < 50 ms)",
            f"{'  CPU per query':<28}{statistics.median(self.query_cpu or [0.0]) * ms:>9.1f} ms median, "
            f"{percentile(self.query_cpu, 95) * ms:.1f} ms p95 (what a query costs when the cores are free)",
            f"{'save to searchable':<28}{s50 * ms:>9.0f} ms median, {s95 * ms:.0f} ms p95 over "
            f"{len(self.save_latencies)} edits, watcher: {self.watch_mode} "
            f"({verdict(s95 < TARGET_SAVE_P95 and not self.save_timeouts)}, target p95 < 1 s)",
            f"{'save to searchable, editor':<28}{e50 * ms:>9.0f} ms median, {e95 * ms:.0f} ms p95 over "
            f"{len(self.editor_save_latencies)} saves that tell the index at once "
            f"({verdict(bool(self.editor_save_latencies) and e95 < TARGET_SAVE_P95)}, target p95 < 1 s)",
        ]
        if self.save_timeouts:
            lines.append(f"{self.save_timeouts} edits were not searchable within {SAVE_TIMEOUT:g} s")
        if self.watch_detail:
            lines.append(f"{'watcher':<28}{self.watch_detail}")
        if self.burst_files:
            missed = self.burst_mismatches
            equal = f"INDEX DIFFERS in {len(missed)} files, e.g. {missed[:3]}" if missed else "index equal to the disk"
            settled = f"idle after {self.burst_seconds:.2f} s" if self.burst_settled else "NOT IDLE"
            lines.append(
                f"{'burst':<28}{self.burst_files:,} files created, a quarter modified, half deleted at once: "
                f"{settled}, {equal}"
            )
        if self.notice:
            lines.append(f"notice: {self.notice}")
        if self.watch_ways is not None:
            lines += ["", *watch_report(self.watch_ways, COMPARE_FOLDERS, COMPARE_IGNORED)]
        return "\n".join(lines)


def _memory() -> tuple[int, int]:
    """(resident, peak resident) bytes of this process."""
    rss = peak = 0
    try:
        import psutil

        rss = int(psutil.Process().memory_info().rss)
    except Exception:  # psutil missing or unable to tell
        pass
    try:
        import resource

        peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024  # kilobytes on Linux
    except Exception:  # not on Windows
        peak = rss
    return rss, max(peak, rss)


def _children_cpu() -> float:
    """CPU seconds of finished child processes (the indexing workers)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return float(usage.ru_utime + usage.ru_stime)
    except Exception:  # not on Windows
        return 0.0


def _copy_candidates(source: Path, target: Path, max_bytes: int, max_files: int | None = None) -> list[str]:
    files = scan(source, IgnoreRules(source), max_bytes)
    copied = []
    for rel in sorted(files)[:max_files]:
        destination = target / rel
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, destination)
        except OSError:
            continue  # vanished or unreadable: the bench measures what it could copy
        copied.append(rel)
    return copied


def _queries(project: Project, rng: random.Random, count: int) -> list[str]:
    names: list[str] = []
    files = project.files()
    for path in rng.sample(files, min(len(files), 300)):
        for symbol in project.symbols([path]).get(path, [])[:5]:
            if symbol.name.isidentifier() and len(symbol.name) > 3:
                names.append(symbol.name)
    if len(names) < 2:
        names += ["main", "config", "error", "test", "parse", "value"]
    return [rng.choice(_QUESTION_TEMPLATES).format(a=rng.choice(names), b=rng.choice(names)) for _ in range(count)]


def _edit_until_searchable(project: Project, path: Path, token: str) -> float | None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\n# {token}\n")
    started = time.perf_counter()
    while time.perf_counter() - started < SAVE_TIMEOUT:
        if project.search(token, 1):
            return time.perf_counter() - started
        time.sleep(0.005)
    return None


def _burst(project: Project, count: int, rng: random.Random) -> str:
    """Create ``count`` files in new folders, modify a quarter, delete half (some whole folders), at once;
    returns the folder (relative) they are in."""
    folders = max(1, count // 100)
    name = f"quillpad-burst-{rng.randrange(10**9)}"
    root = project.root / name
    created = []
    for number in range(count):
        path = root / f"d{number % folders}" / f"f{number}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"def burst_{number}():\n    return {number}\n", encoding="utf-8")
        created.append(path)
    for path in created[::4]:
        path.write_text(f"def burst_changed_{path.stem}():\n    return -1\n", encoding="utf-8")
    for path in created[1::2]:
        path.unlink()
    for number in range(0, folders, 10):
        shutil.rmtree(root / f"d{number}", ignore_errors=True)
    return name


def _index_differences(project: Project, under: str, max_bytes: int) -> list[str]:
    """Paths below ``under`` whose presence, size or time differ between the index and the disk."""
    disk = scan(project.root, IgnoreRules(project.root), max_bytes, under=under)
    states = project.indexed_file_states(under)
    differ = sorted(disk.keys() ^ states.keys())
    for path in disk.keys() & states.keys():
        if (disk[path].size, disk[path].mtime_ns) != (states[path].size, states[path].mtime_ns):
            differ.append(path)
    return differ


def run_context_bench(
    folder: Path,
    edits: int = 50,
    progress: Callable[[str], None] = lambda message: None,
    *,
    queries: int = QUERY_COUNT,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    seed: int = 1,
    burst: int = 10_000,
    compare: bool = False,
    max_files: int | None = None,
    force_polling: bool = False,
) -> ContextBenchResult:
    """Measure indexing, reopening, memory, query latency, save-to-searchable (through the watcher and
    through the editor's save, which tells the index at once) and a burst of ``burst`` files (0: no burst)
    on a copy of ``folder`` (its first ``max_files`` candidate files by path, when given); ``force_polling``
    times saves with the polling watcher; with ``compare``, also three ways of watching a 5,000-folder tree."""
    source = Path(os.path.realpath(folder))
    if not source.is_dir():
        raise ProjectFolderError(f"{folder} is not a folder; give the bench a source tree to index.")
    rng = random.Random(seed)
    result = ContextBenchResult(folder=str(source))
    with tempfile.TemporaryDirectory(prefix="quillpad-context-bench-") as scratch:
        copy = Path(scratch) / source.name
        data = Path(scratch) / "data"
        progress(f"copying the candidate files of {source}")
        copied = _copy_candidates(source, copy, max_file_bytes, max_files)
        result.copied_files = len(copied)

        progress(f"indexing {len(copied):,} files")
        started_cpu = time.process_time()
        with Project(copy, data, max_file_bytes=max_file_bytes) as project:
            stats = project.open()
            result.index_seconds = stats.seconds
            result.files, result.chunks, result.bytes = stats.files, stats.chunks, stats.bytes
            result.rss_bytes, result.peak_rss_bytes = _memory()
            result.index_cpu_seconds = time.process_time() - started_cpu + _children_cpu()
            progress(f"indexed {stats.files:,} files in {stats.seconds:.1f} s")

        progress("reopening with nothing changed")
        with Project(copy, data, max_file_bytes=max_file_bytes, force_polling=force_polling) as project:
            result.reopen_seconds = project.open().seconds

            progress(f"running {queries} queries")
            project.search("warm up the reference graph", 1)
            questions = _queries(project, rng, queries)
            for question in questions[:5]:
                project.search(question, 10)  # warm the page cache and the statement cache
            for question in questions:
                started, cpu_started = time.perf_counter(), time.thread_time()
                project.search(question, 10)
                result.query_latencies.append(time.perf_counter() - started)
                result.query_cpu.append(time.thread_time() - cpu_started)

            progress(f"saving {edits} edits with the watcher running")
            project.start_watching()
            project.wait_until_idle(120.0)
            result.watch_mode = project.watch_mode
            result.watch_detail = _watch_detail(project)
            editable = [p for p in project.files() if p.endswith((".py", ".md", ".txt", ".c", ".js", ".rs", ".go"))]
            editable = editable or project.files()
            for number in range(edits if editable else 0):
                target = copy / rng.choice(editable)
                latency = _edit_until_searchable(project, target, f"quillpadbench{number}z{rng.randrange(10**9)}")
                if latency is None:
                    result.save_timeouts += 1
                else:
                    result.save_latencies.append(latency)
                time.sleep(0.02)
            progress(f"saving {edits} edits through the editor path (index told at once)")
            for number in range(edits if editable else 0):
                rel = rng.choice(editable)
                token = f"quillpadsave{number}z{rng.randrange(10**9)}"
                with open(copy / rel, "a", encoding="utf-8") as handle:
                    handle.write(f"\n# {token}\n")
                started = time.perf_counter()
                project.refresh([rel])
                if project.search(token, 1):
                    result.editor_save_latencies.append(time.perf_counter() - started)

            if burst > 0:
                progress(f"a burst of {burst:,} files with the watcher running")
                started = time.perf_counter()
                burst_folder = _burst(project, burst, rng)
                result.burst_files = burst
                result.burst_settled = project.wait_until_idle(BURST_TIMEOUT)
                result.burst_seconds = time.perf_counter() - started
                result.burst_mismatches = _index_differences(project, burst_folder, max_file_bytes)
            result.notice = project.notice

        if compare:
            progress(f"comparing ways of watching {COMPARE_FOLDERS:,} folders")
            result.watch_ways = compare_watchers(Path(scratch), COMPARE_FOLDERS, COMPARE_IGNORED)
        return result


def _watch_detail(project: Project) -> str:
    """The mechanism in use, its probe time, and what it replaced."""
    parts = []
    for attempt in project.watch_attempts:
        if attempt.problem:
            parts.append(f"{attempt.name} {attempt.problem}")
        elif attempt.probe_seconds is not None:
            parts.append(f"{attempt.name}, probe event after {attempt.probe_seconds * 1000:.1f} ms")
        else:
            parts.append(attempt.name)
    return "; ".join(parts)
