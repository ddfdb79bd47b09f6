"""Lowering CPU priority for background work."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread niceness is Linux's")
def test_a_lowered_thread_leaves_the_rest_of_the_process_as_it_was() -> None:
    import os
    import threading

    from app.core.priority import lower_this_thread_priority

    seen: list[int] = []

    def work() -> None:
        assert lower_this_thread_priority()
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    before = os.getpriority(os.PRIO_PROCESS, 0)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen == [19]
    assert os.getpriority(os.PRIO_PROCESS, 0) == before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SCHED_IDLE is Linux's")
def test_a_child_lowered_by_its_parent_keeps_it_in_the_threads_it_starts_later() -> None:
    import os
    import subprocess
    import time

    from app.core.priority import lower_child_priority

    script = (
        "import threading, time\n"
        "time.sleep(0.5)\n"
        "t = threading.Thread(target=time.sleep, args=(3,))\n"
        "t.start()\n"
        "t.join()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert lower_child_priority(child.pid)
        deadline = time.monotonic() + 10
        tasks: list[str] = []
        while len(tasks) < 2 and time.monotonic() < deadline:
            tasks = os.listdir(f"/proc/{child.pid}/task")
            time.sleep(0.05)
        assert len(tasks) == 2  # the main thread and the one started after the parent lowered it
        for tid in map(int, tasks):
            assert os.getpriority(os.PRIO_PROCESS, tid) == 19
            assert os.sched_getscheduler(tid) == os.SCHED_IDLE
    finally:
        child.kill()
        child.wait()
