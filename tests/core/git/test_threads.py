"""One repository read from two threads at once (the git panel's refresh and the commit dialog's)."""

from __future__ import annotations

import threading
from pathlib import Path

from app.core.git import find_repository
from tests.core.git.conftest import make_repo

ROUNDS = 150


def test_two_threads_reading_head_and_state_do_not_hang(tmp_path: Path) -> None:
    repo = find_repository(make_repo(tmp_path / "r", {"a.py": "x = 1\n"}))
    assert repo is not None
    expected = repo.head_commit()
    seen: list[str | None] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(ROUNDS):
                seen.append(repo.head_commit())
                seen.append(repo.state().head)
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=read, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)  # the 300 reads take ~2 s
    hung = any(thread.is_alive() for thread in threads)
    repo.repo.close()  # ends gitpython's cat-file processes, which also frees a thread stuck on one
    for thread in threads:
        thread.join(timeout=10)
    assert not hung, "a thread waited forever for git cat-file's answer"
    assert not errors
    assert seen == [expected] * (4 * ROUNDS)
