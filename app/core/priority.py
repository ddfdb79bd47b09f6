"""Running background work only on CPU time nobody else wants.

A first build of the code-reference index takes minutes of CPU. Run at
normal priority beside the model, it takes a core away from llama.cpp's
threads, which wait for each other at every step: decoding in the window
ran at about half speed while the index was built. A process that lowers
its own priority here gets the CPU only when the model (and everything
else the user runs) leaves some.
"""

from __future__ import annotations

import contextlib
import os
import sys


def lower_own_priority() -> str:
    """Give the calling process the lowest CPU priority the system allows; says what was set."""
    done: list[str] = []
    if sys.platform == "win32":
        import psutil

        with contextlib.suppress(psutil.Error, OSError):
            psutil.Process().nice(psutil.IDLE_PRIORITY_CLASS)
            done.append("idle priority class")
        return ", ".join(done) or "unchanged"
    with contextlib.suppress(OSError):
        os.nice(19 - os.nice(0))
        done.append(f"nice {os.nice(0)}")
    idle = getattr(os, "SCHED_IDLE", None)  # Linux: runs only when a CPU would otherwise idle
    if idle is not None:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(0, idle, os.sched_param(0))
            done.append("SCHED_IDLE")
    return ", ".join(done) or "unchanged"


def lower_child_priority(pid: int) -> bool:
    """Nice 19 and SCHED_IDLE for a child just started, from the parent (Linux only; False elsewhere).

    A child that lowers its own priority does so only after Python has
    started and imported what it needs: about a second of CPU at normal
    priority, which landed in the first reply of a freshly opened window
    (the indexer starts 15 s after the window opens). Linux applies both to
    the child's one thread at this point, and the threads it starts later
    inherit them.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        os.setpriority(os.PRIO_PROCESS, pid, 19)
        os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))
    except OSError:
        return False
    return True


def lower_this_thread_priority() -> bool:
    """Lowest niceness for the calling thread only (Linux schedules threads one by one); False elsewhere.

    For a thread of a process whose other threads must stay fast (the engine
    hashing a model file or writing a saved state while the next reply
    decodes). Only niceness, never SCHED_IDLE: a starved thread holding the
    interpreter lock would stall the others.
    """
    if not sys.platform.startswith("linux"):
        return False
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except OSError:
        return False
    return True
