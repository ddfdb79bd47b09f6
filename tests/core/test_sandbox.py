"""The sandbox against real programs that misbehave: each limit is shown to trigger."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from app.core.sandbox.runner import SandboxError, SandboxLimits, run_python, run_sandboxed

FAST = SandboxLimits(wall_seconds=10, cpu_seconds=2, memory_bytes=512 * 1024**2, file_size_bytes=1024**2)


def test_a_plain_program_runs_in_a_throwaway_folder() -> None:
    result = run_python(
        "import os, sys\nprint(os.getcwd())\nprint(sys.stdin.read() == '')\nprint(os.environ.get('SECRET'))"
    )
    assert result.ok and result.exit_code == 0
    folder, empty_stdin, secret = result.stdout.split()
    assert "quillpad-sandbox-" in folder and not Path(folder).exists()  # deleted afterwards
    assert empty_stdin == "True" and secret == "None"


def test_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUILLPAD_API_KEY", "hunter2")
    result = run_python("import os; print(sorted(os.environ))")
    assert "QUILLPAD_API_KEY" not in result.stdout and "HOME" in result.stdout


def test_wall_clock_limit() -> None:
    result = run_python("import time; time.sleep(60)", limits=SandboxLimits(wall_seconds=1))
    assert result.timed_out and not result.ok
    assert "ran longer" in result.summary()


def test_cpu_time_limit() -> None:
    # Generous wall time: on a loaded machine two CPU seconds can take longer than ten seconds.
    limits = SandboxLimits(wall_seconds=120, cpu_seconds=2, memory_bytes=512 * 1024**2, file_size_bytes=1024**2)
    result = run_python("while True: pass", limits=limits)
    assert result.cpu_limit_hit and not result.timed_out
    assert "CPU time" in result.summary()


def test_memory_limit() -> None:
    result = run_python("x = bytearray(20 * 1024**3)", limits=FAST)
    assert result.exit_code == 1 and "MemoryError" in result.stderr


def test_file_size_limit() -> None:
    result = run_python("open('big', 'wb').write(b'x' * (8 * 1024**2))", limits=FAST)
    assert result.exit_code == 1 and "File too large" in result.stderr


def test_process_count_limit() -> None:
    code = (
        "import os, time\n"
        "failed = 0\n"
        "for _ in range(100):\n"
        "    try:\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(30)\n"
        "            os._exit(0)\n"
        "    except OSError:\n"
        "        failed += 1\n"
        "print(failed)\n"
    )
    result = run_python(code, limits=SandboxLimits(processes=16, wall_seconds=20))
    assert result.exit_code == 0 and int(result.stdout) > 50


def test_fork_bomb_is_contained_and_nothing_is_left() -> None:
    code = (
        "import os\nprint(os.getcwd(), flush=True)\n"
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    result = run_python(code, limits=SandboxLimits(processes=32, wall_seconds=2, cpu_seconds=2))
    assert not result.ok
    assert _processes_in(result.stdout.split()[0]) == []


def test_a_stop_request_ends_the_program_and_its_children() -> None:
    """Stop (an agent run's, a time limit's): the program and what it started end, the result says so."""
    code = "import os, time\nprint(os.getcwd(), flush=True)\nos.fork()\ntime.sleep(120)\n"
    printed: list[str] = []
    limits = SandboxLimits(wall_seconds=120)
    result = run_python(code, limits=limits, stop_requested=lambda: printed.append("asked") or len(printed) > 30)
    assert not result.timed_out and not result.ok and result.notes[0] == "Stopped."
    assert _processes_in(result.stdout.split()[0]) == []


def test_children_of_an_exited_program_are_killed() -> None:
    code = "import os, time\nprint(os.getcwd(), flush=True)\nif os.fork() == 0:\n    time.sleep(120)\nprint('done')\n"
    result = run_python(code, limits=FAST)
    folder, done = result.stdout.split()
    assert result.ok and done == "done"
    assert _processes_in(folder) == []


def test_output_is_capped() -> None:
    code = "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 1024 * 1024)\n"
    result = run_python(code, limits=SandboxLimits(output_bytes=64 * 1024))
    assert result.ok and result.stdout_truncated and len(result.stdout) == 64 * 1024


def test_no_network() -> None:
    code = "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=2)\n"
    result = run_python(code, limits=FAST)
    assert result.network_blocked and result.exit_code == 1 and "unreachable" in result.stderr
    assert result.isolation == "namespaces" and "Linux namespaces" in result.isolation_text


def test_the_host_outside_the_folder_is_not_there(tmp_path: Path) -> None:
    target = tmp_path / "pwned"
    result = run_python(f"open({str(target)!r}, 'w').write('x')", limits=FAST)
    assert result.exit_code == 1 and "No such file or directory" in result.stderr
    assert not target.exists()


def test_the_system_is_read_only_and_the_work_folder_a_small_tmpfs() -> None:
    code = (
        "import os\n"
        "for path in ('/usr/quillpad-probe', '/quillpad-probe', '/dev/quillpad-probe'):\n"
        "    try:\n        open(path, 'w')\n    except OSError as e:\n        print(e.strerror)\n"
        "s = os.statvfs('.')\nprint(s.f_blocks * s.f_frsize)\n"
        "print(sorted(os.listdir('/')))\n"
    )
    result = run_python(code, limits=SandboxLimits(disk_bytes=8 * 1024**2))
    lines = result.stdout.splitlines()
    assert lines[:3] == ["Read-only file system"] * 3, result.stderr
    assert int(lines[3]) == 8 * 1024**2
    assert "home" not in lines[4] or "root" not in lines[4]  # at most the user's own (empty) home


def test_files_are_given_and_escapes_refused() -> None:
    result = run_sandboxed(["cat", "data/in.txt"], files={"data/in.txt": "hello"})
    assert result.stdout == "hello"
    with pytest.raises(SandboxError, match="outside"):
        run_sandboxed(["true"], files={"../escape.txt": "x"})


def test_missing_program_is_reported() -> None:
    result = run_sandboxed(["no-such-program-quillpad"])
    assert result.exit_code == 127 and "not found" in result.stderr


def _processes_in(folder: str) -> list[str]:
    """Processes still working in ``folder`` (only this test's sandbox, not other runs on the machine)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.removesuffix(" (deleted)") == folder:
            found.append(pid)
    return found


def test_network_can_be_kept_when_asked() -> None:
    code = "import socket\nprint(sorted(name for _, name in socket.if_nameindex()))\n"
    result = run_python(code, limits=SandboxLimits(network=True))
    assert result.ok and not result.network_blocked and result.isolation == "namespaces"
    assert result.stdout.strip() == str(sorted(name for _, name in socket.if_nameindex()))  # the host's
