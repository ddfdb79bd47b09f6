"""The macOS sandbox-exec profile (generated text; sandbox-exec runs only on macOS) and each platform's tooltip."""

from __future__ import annotations

import ctypes
import sys

import pytest

from app.core.sandbox.isolation import IsolationUnavailable, run_tooltip
from app.core.sandbox.macos import macos_profile
from app.core.sandbox.runner import SandboxLimits, isolation_support, run_python
from app.core.sandbox.windows import job_limits


def test_the_profile_denies_network_and_writes_outside_the_work_folder() -> None:
    profile = macos_profile("/private/var/folders/x/quillpad-sandbox-1/work", ["/Users/ann/venv"])
    assert profile.startswith("(version 1)\n(deny default)\n")
    assert "(deny network*)" in profile
    writes = [line for line in profile.splitlines() if "file-write*" in line]
    assert writes == ['(allow file-write* (subpath "/private/var/folders/x/quillpad-sandbox-1/work"))']
    assert '(allow file-read* file-write-data\n    (literal "/dev/null")' in profile  # devices only
    assert '(subpath "/Users/ann/venv")' in profile  # the interpreter's folder is readable
    assert '"/Users/ann"' not in profile and '(subpath "/Users")' not in profile  # the home is not
    assert profile.count("(") == profile.count(")")


def test_paths_are_quoted_as_profile_strings() -> None:
    profile = macos_profile('/tmp/we"ird\\dir', [])
    assert '(subpath "/tmp/we\\"ird\\\\dir")' in profile


def test_each_platform_tooltip_says_what_is_limited() -> None:
    assert "no network" in run_tooltip("linux") and "you are asked first" in run_tooltip("linux")
    assert "sandbox-exec" in run_tooltip("darwin") and "no network" in run_tooltip("darwin")
    windows = run_tooltip("win32")
    assert "limits only (a Windows job object)" in windows and "can read your files" in windows


def test_windows_asks_first_and_says_what_a_job_object_does_not_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    support = isolation_support()
    assert support.mode == "job-object" and not support.isolated
    with pytest.raises(IsolationUnavailable) as refused:
        run_python("print(1)")
    assert "Windows offers no isolation Quillpad can use" in str(refused.value)
    assert "could read your files and use the network" in str(refused.value)
    assert "--unsafe-no-isolation" in support.eval_refusal


def test_the_job_object_limits() -> None:
    info = job_limits(SandboxLimits(cpu_seconds=7, memory_bytes=512 * 1024**2, processes=16))
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        assert ctypes.sizeof(info) == 144  # JOBOBJECT_EXTENDED_LIMIT_INFORMATION on 64-bit Windows
    basic = info.BasicLimitInformation
    assert basic.PerJobUserTimeLimit == 7 * 10_000_000  # 100-ns ticks
    assert basic.ActiveProcessLimit == 16 and info.ProcessMemoryLimit == 512 * 1024**2
    assert basic.LimitFlags == 0x4 | 0x8 | 0x100 | 0x400 | 0x2000  # job time, processes, memory, no dialogs, kill


def test_the_profile_allows_the_network_only_when_asked() -> None:
    assert "(allow network*)" in macos_profile("/w", [], network=True)
    assert "(allow network*)" not in macos_profile("/w", [])
