"""Issue 26 problem 1, end to end: `quillpad` on a machine without the xcb libraries.

A folder of stub libraries on ``LD_LIBRARY_PATH`` shadows the system's: a
stub that is not a valid shared object makes the dynamic loader fail exactly
as a missing library does, on any machine, whatever is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run_quillpad(tmp_path: Path, env_changes: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update({"PYTHONPATH": str(ROOT), "DISPLAY": ":97", **env_changes})
    return subprocess.run(
        [sys.executable, "-m", "app"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def broken_xcb_libs(tmp_path: Path) -> Path:
    stubs = tmp_path / "stub-libs"
    stubs.mkdir()
    for soname in ("libxcb-icccm.so.4", "libxcb-keysyms.so.1"):
        (stubs / soname).write_bytes(b"not a shared object\n")
    return stubs


def test_missing_xcb_libraries_give_one_sentence_and_exit_2(tmp_path: Path, broken_xcb_libs: Path) -> None:
    done = _run_quillpad(tmp_path, {"LD_LIBRARY_PATH": str(broken_xcb_libs)})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("quillpad: The window cannot start because the X11 libraries Qt needs are missing (")
    assert "libxcb-icccm.so.4" in line and "libxcb-keysyms.so.1" in line
    assert "sudo apt install" in line and "libxcb-icccm4" in line and "libxcb-keysyms1" in line
    assert "sudo dnf install" in line and "xcb-util-wm" in line and "xcb-util-keysyms" in line
    assert "Could not load the Qt platform plugin" not in done.stderr and "Traceback" not in done.stderr
