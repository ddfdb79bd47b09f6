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
