"""Windows: limits through a job object, and nothing more.

Windows has no user namespaces and no ``sandbox-exec``; an AppContainer would
isolate files and network but needs a package identity Quillpad does not have.
So a run there is "limits only" (the user is asked first, as on Linux without
namespaces): the program is put in a job object that caps its committed
memory, its CPU time (the whole job's user time), the number of processes,
and kills every process of the job when the run ends. It can still read the
user's files and use the network, and its folder's size is not capped.

The structures are plain ``ctypes`` (testable anywhere); only ``run_in_job``
calls Windows.
"""

from __future__ import annotations

import ctypes
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

JOB_OBJECT_LIMIT_JOB_TIME = 0x00000004
JOB_OBJECT_LIMIT_ACTIVE_PROCESS = 0x00000008
JOB_OBJECT_LIMIT_PROCESS_MEMORY = 0x00000100
JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION = 0x00000400
JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE = 0x00002000
JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS = 9
PROCESS_SET_QUOTA, PROCESS_TERMINATE = 0x0100, 0x0001
# The exit status of every process of a job that ran past its user-time limit.
ERROR_NOT_ENOUGH_QUOTA = 1816
CREATE_NO_WINDOW = 0x08000000
TICKS_PER_SECOND = 10_000_000  # job times are in 100-nanosecond ticks


class IoCounters(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_ulonglong)
        for name in (
            "ReadOperationCount",
            "WriteOperationCount",
            "OtherOperationCount",
            "ReadTransferCount",
            "WriteTransferCount",
            "OtherTransferCount",
        )
    ]


class BasicLimits(ctypes.Structure):
    """JOBOBJECT_BASIC_LIMIT_INFORMATION (winnt.h)."""

    _fields_ = [
        ("PerProcessUserTimeLimit", ctypes.c_int64),
        ("PerJobUserTimeLimit", ctypes.c_int64),
        ("LimitFlags", ctypes.c_uint32),
        ("MinimumWorkingSetSize", ctypes.c_size_t),
        ("MaximumWorkingSetSize", ctypes.c_size_t),
        ("ActiveProcessLimit", ctypes.c_uint32),
        ("Affinity", ctypes.c_size_t),
        ("PriorityClass", ctypes.c_uint32),
        ("SchedulingClass", ctypes.c_uint32),
    ]


class ExtendedLimits(ctypes.Structure):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION (winnt.h)."""

    _fields_ = [
        ("BasicLimitInformation", BasicLimits),
        ("IoInfo", IoCounters),
        ("ProcessMemoryLimit", ctypes.c_size_t),
        ("JobMemoryLimit", ctypes.c_size_t),
        ("PeakProcessMemoryUsed", ctypes.c_size_t),
        ("PeakJobMemoryUsed", ctypes.c_size_t),
    ]


class Limits(Protocol):
    """What a job needs of ``SandboxLimits`` (read-only)."""

    @property
    def cpu_seconds(self) -> int: ...

    @property
    def memory_bytes(self) -> int: ...

    @property
    def processes(self) -> int: ...


def job_limits(limits: Limits) -> ExtendedLimits:
    """The job's limits: CPU time of the whole job, memory per process, process count, kill on close."""
    info = ExtendedLimits()
    basic = info.BasicLimitInformation
    basic.LimitFlags = (
        JOB_OBJECT_LIMIT_JOB_TIME
        | JOB_OBJECT_LIMIT_ACTIVE_PROCESS
        | JOB_OBJECT_LIMIT_PROCESS_MEMORY
        | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION
        | JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    )
    basic.PerJobUserTimeLimit = max(1, int(limits.cpu_seconds)) * TICKS_PER_SECOND
    basic.ActiveProcessLimit = max(1, int(limits.processes))
    info.ProcessMemoryLimit = int(limits.memory_bytes)
    return info


@dataclass(frozen=True)
class JobRun:
    """How a run in a job ended, before the runner turns it into a SandboxResult."""

    exit_code: int
    timed_out: bool
    wall_seconds: float


def _kernel32() -> Any:
    return ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]  # Windows-only in the stubs


def _fail(what: str) -> OSError:
    return OSError(f"{what} failed (Windows error {ctypes.get_last_error()})")  # type: ignore[attr-defined,unused-ignore]  # Windows-only in the stubs


def run_in_job(
    argv: Sequence[str],
    *,
    cwd: str,
    env: dict[str, str],
    limits: Limits,
    wall_seconds: float,
    on_stdout: Callable[[bytes], None],
    on_stderr: Callable[[bytes], None],
) -> JobRun:
    """Run ``argv`` in a new job object with ``limits``; every process of the job ends with the run."""
    kernel32 = _kernel32()
    kernel32.CreateJobObjectW.restype = ctypes.c_void_p
    kernel32.OpenProcess.restype = ctypes.c_void_p
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        raise _fail("CreateJobObject")
    try:
        info = job_limits(limits)
        if not kernel32.SetInformationJobObject(
            ctypes.c_void_p(job), JOB_OBJECT_EXTENDED_LIMIT_INFORMATION_CLASS, ctypes.byref(info), ctypes.sizeof(info)
        ):
            raise _fail("SetInformationJobObject")
        started = time.monotonic()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            creationflags=CREATE_NO_WINDOW,
        )
        # Assigned at once: the interpreter needs milliseconds to start before
        # any of the program's code (which could start processes) runs.
        handle = kernel32.OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, False, process.pid)
        assigned = bool(handle) and bool(
            kernel32.AssignProcessToJobObject(ctypes.c_void_p(job), ctypes.c_void_p(handle))
        )
        if handle:
            kernel32.CloseHandle(ctypes.c_void_p(handle))
        if not assigned:
            process.kill()
            process.communicate()
            raise _fail("AssignProcessToJobObject")
        readers = [
            threading.Thread(target=_drain, args=(process.stdout, on_stdout), daemon=True),
            threading.Thread(target=_drain, args=(process.stderr, on_stderr), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            process.wait(timeout=wall_seconds)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        # Ends the program and anything it started (the pipes then close).
        kernel32.TerminateJobObject(ctypes.c_void_p(job), 1)
        process.wait()
        for reader in readers:
            reader.join(timeout=5)
        return JobRun(int(process.returncode), timed_out, time.monotonic() - started)
    finally:
        kernel32.CloseHandle(ctypes.c_void_p(job))


def _drain(stream: Any, sink: Callable[[bytes], None]) -> None:
    with stream:
        for chunk in iter(lambda: stream.read1(65536), b""):
            sink(chunk)
