"""``quillpad bench git``: what the git features cost on a real repository.

The repository DIR is cloned to a temporary folder first (a local clone, so
DIR itself is only read); on the clone:

1. reading the status (what every refresh of the tree's marks does), median
   and worst of several reads, with ``--touch`` files modified;
2. the working tree's diff and the staged diff with those changes;
3. a checkpoint of the touched files (what runs before an AI edit is applied),
   and the exact undo of it;
4. listing the AI changes after ``--checkpoints`` of them (the list dialog
   and every undo read it).
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from app.core.errors import QuillpadError
from app.core.git import CheckpointStore, diff_worktree, find_repository, read_status, stage, staged_diff
from app.core.git.checkpoints import GitBackend

READS = 7
T = TypeVar("T")


@dataclass(frozen=True)
class GitBenchResult:
    """Seconds for each step, and the repository's size."""

    files: int
    touched: int
    status_median: float
    status_worst: float
    diff_seconds: float
    diff_chars: int
    staged_seconds: float
    checkpoint_seconds: float
    undo_seconds: float
    checkpoints: int
    list_seconds: float

    def report(self) -> str:
        ms = 1000
        return "\n".join(
            [
                f"repository: {self.files:,} tracked files, {self.touched} modified",
                f"status read:       median {self.status_median * ms:.1f} ms, worst {self.status_worst * ms:.1f} ms"
                f" ({READS} reads)",
                f"working-tree diff: {self.diff_seconds * ms:.1f} ms ({self.diff_chars:,} characters)",
                f"staged diff:       {self.staged_seconds * ms:.1f} ms",
                f"checkpoint of {self.touched} files: {self.checkpoint_seconds * ms:.1f} ms",
                f"exact undo of it:  {self.undo_seconds * ms:.1f} ms",
                f"listing {self.checkpoints} AI changes: {self.list_seconds * ms:.1f} ms",
            ]
        )


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def run_git_bench(
    folder: Path, *, touch: int = 20, checkpoints: int = 50, progress: Callable[[str], None] | None = None
) -> GitBenchResult:
    """Measure on a local clone of ``folder``'s repository."""
    say = progress or (lambda _message: None)
    source = find_repository(folder)
    if source is None:
        raise QuillpadError(f"{folder} is not in a git repository; pass a folder inside one.")
    scratch = Path(tempfile.mkdtemp(prefix="quillpad-git-bench-"))
    try:
        say(f"cloning {source.root}")
        clone = scratch / "clone"
        done = subprocess.run(
            ["git", "clone", "--quiet", "--local", str(source.root), str(clone)], capture_output=True, check=False
        )
        if done.returncode != 0:
            raise QuillpadError(f"The repository could not be cloned for the bench: {done.stderr.decode().strip()}")
        repo = find_repository(clone)
        assert repo is not None
        tracked = [p for p in repo.run("Listing files", "ls-files", "-z").split("\0") if p]
        texts = [p for p in tracked if (clone / p).is_file() and (clone / p).stat().st_size < 200_000]
        chosen = texts[:: max(1, len(texts) // max(1, touch))][:touch]
        for rel in chosen:
            with (clone / rel).open("ab") as handle:
                handle.write(b"\n# touched by the bench\n")
        say("reading the status")
        reads = [_timed(lambda: read_status(repo))[0] for _ in range(READS)]
        diff_seconds, diff = _timed(lambda: diff_worktree(repo))
        stage(repo, chosen)
        staged_seconds, _ = _timed(lambda: staged_diff(repo))
        store = CheckpointStore(repo.root, GitBackend(repo))
        say("checkpoints")
        checkpoint_seconds, _ = _timed(lambda: store.record(chosen, "bench edit"))
        for rel in chosen:
            (clone / rel).write_bytes(b"rewritten\n")
        undo_seconds, _ = _timed(store.undo_last)
        for number in range(max(0, checkpoints - 1)):
            store.record(chosen[:1], f"bench edit {number}")
        list_seconds, changes = _timed(store.ai_changes)
        repo.repo.close()
        return GitBenchResult(
            files=len(tracked),
            touched=len(chosen),
            status_median=statistics.median(reads),
            status_worst=max(reads),
            diff_seconds=diff_seconds,
            diff_chars=len(str(diff)),
            staged_seconds=staged_seconds,
            checkpoint_seconds=checkpoint_seconds,
            undo_seconds=undo_seconds,
            checkpoints=len(changes),
            list_seconds=list_seconds,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
