"""The macOS sandbox-exec profile (generated text; sandbox-exec runs only on macOS) and each platform's tooltip."""

from __future__ import annotations

import sys

import pytest

from app.core.sandbox.macos import macos_profile
from app.core.sandbox.runner import SandboxError, run_python


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
    from app.core.sandbox.isolation import run_tooltip

    assert "no network" in run_tooltip("linux") and "you are asked first" in run_tooltip("linux")
    assert "sandbox-exec" in run_tooltip("darwin") and "no network" in run_tooltip("darwin")
    windows = run_tooltip("win32")
    assert windows.startswith("Not available on Windows") and "reading your files" in windows


def test_windows_refuses_plainly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    with pytest.raises(SandboxError, match="not available on Windows"):
        run_python("print(1)")
