"""Running code the user did not write: limits, a throwaway folder, no network.

``run_sandboxed`` starts ``launcher.py`` in a new session (its own process
group) with a scrubbed environment, no standard input and a fresh temporary
working directory; the launcher confines itself and execs the program. The
parent enforces the wall-clock limit, caps what it keeps of the output (a
program printing 100 MB costs a bounded amount of memory), and at the end
kills the whole group and removes the folder, so nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.frozen import SANDBOX_LAUNCHER_ARG, is_frozen, user_code_python

MiB = 1024**2
_PIDS_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


class SandboxError(QuillpadError):
    """The sandbox itself could not run (not the program inside it)."""


@dataclass(frozen=True)
class SandboxLimits:
    """What a sandboxed program may use."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 2 * 1024 * MiB  # address space
    file_size_bytes: int = 64 * MiB  # largest file it may write
    processes: int = 64
    output_bytes: int = 1 * MiB  # kept per stream; the rest is read and dropped
    network: bool = False  # True allows network access


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed run ended, as plain data."""

    exit_code: int | None  # None when ended by a signal
    signal: str | None
    timed_out: bool
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    wall_seconds: float
    cpu_seconds: float
    max_rss_bytes: int
    network_blocked: bool
    cpu_limit_hit: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    def summary(self) -> str:
        """One sentence on how the run ended."""
        if self.timed_out:
            return "The program was stopped because it ran longer than allowed."
        if self.cpu_limit_hit:
            return "The program was stopped because it used more CPU time than allowed."
        if self.signal:
            return f"The program was ended by {self.signal}."
        return f"The program exited with code {self.exit_code}."


class _Capped:
    """Keeps the first ``limit`` bytes of a stream and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.data = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]
        self.dropped += max(0, len(chunk) - max(room, 0))

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def _scrubbed_env(extra: Mapping[str, str] | None, home: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in _SAFE_ENV if key in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update({"HOME": str(home), "TMPDIR": str(home), "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def _make_pids_cgroup(limit: int) -> str:
    """A pids cgroup capping the process count (root only; "" if unavailable).

    Root ignores RLIMIT_NPROC, so without this a fork bomb run as root could
    exhaust the machine's process table before the wall-clock limit.
    """
    if os.geteuid() != 0:
        return ""
    for root in _PIDS_CGROUP_ROOTS:
        if not os.path.exists(os.path.join(root, "pids.max")) and not os.path.isdir(root):
            continue
        path = os.path.join(root, f"quillpad-sandbox-{uuid.uuid4().hex[:12]}")
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as handle:
                handle.write(str(limit))
            return path
        except OSError:
            with contextlib.suppress(OSError):
                os.rmdir(path)
    return ""


def _remove_cgroup(path: str) -> None:
    if not path:
        return
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)  # the last processes are still being reaped


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def run_sandboxed(
    argv: Sequence[str],
    *,
    files: Mapping[str, str | bytes] | None = None,
    limits: SandboxLimits | None = None,
    env: Mapping[str, str] | None = None,
) -> SandboxResult:
    """Run ``argv`` in a fresh temporary folder holding ``files``, within ``limits``."""
    limits = limits or SandboxLimits()
    if not argv:
        raise SandboxError("There is no program to run; give the sandbox a command.")
    workdir = Path(tempfile.mkdtemp(prefix="quillpad-sandbox-"))
    cgroup = _make_pids_cgroup(limits.processes)
    try:
        for name, content in (files or {}).items():
            target = (workdir / name).resolve()
            if workdir.resolve() not in target.parents:
                raise SandboxError(f"The file name {name!r} points outside the sandbox folder; use a plain name.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        return _run(list(argv), workdir, limits, _scrubbed_env(env, workdir), cgroup)
    finally:
        _remove_cgroup(cgroup)
        shutil.rmtree(workdir, ignore_errors=True)


def run_python(code: str, *, limits: SandboxLimits | None = None, args: Sequence[str] = ()) -> SandboxResult:
    """Run Python source in the sandbox, isolated (-I): with this app's interpreter, or in the
    desktop binary (which has none) with Python 3 from PATH."""
    python = user_code_python()
    if python is None:
        raise SandboxError(
            "Running Python code needs a Python 3 interpreter; install Python 3 and make sure python3 is on PATH."
        )
    return run_sandboxed([python, "-I", "main.py", *args], files={"main.py": code}, limits=limits)


def _launcher_command(spec: str) -> tuple[list[str], dict[str, str]]:
    """How to start the launcher, and the extra environment it needs.

    Installed, it is Python code run by this interpreter; in the desktop
    binary, the binary itself runs it in a hidden mode.
    """
    if is_frozen():
        return [sys.executable, SANDBOX_LAUNCHER_ARG, spec], {}
    # The folder holding the ``app`` package (a plain folder when installed).
    code_root = str(Path(str(resources.files("app"))).resolve().parent)
    return [sys.executable, "-I", "-S", "-c", _LAUNCH, spec], {"PYTHONPATH": code_root}


def _run(argv: list[str], workdir: Path, limits: SandboxLimits, env: dict[str, str], cgroup: str) -> SandboxResult:
    report_read, report_write = os.pipe()
    spec = {
        "limits": {
            "cpu": max(1, int(limits.cpu_seconds)),
            "memory": int(limits.memory_bytes),
            "file_size": int(limits.file_size_bytes),
            "processes": int(limits.processes),
        },
        "network": limits.network,
        "cwd": str(workdir),
        "env": env,
        "report_fd": report_write,
        "cgroup": cgroup,
    }
    launcher, launcher_extra = _launcher_command(json.dumps(spec))
    launcher_env = {"PATH": env["PATH"], **launcher_extra}
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            [*launcher, "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=launcher_env,
            cwd=workdir,
            start_new_session=True,
            pass_fds=(report_write,),
        )
    except OSError as start_error:
        raise SandboxError(
            f"The sandbox could not start ({start_error.strerror}); check that Python can run here."
        ) from None
    finally:
        os.close(report_write)
    out, err = _Capped(limits.output_bytes), _Capped(limits.output_bytes)
    timed_out = _pump(process, out, err, started + limits.wall_seconds)
    _kill_group(process)  # children that outlived the program, in any case
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = status
    with os.fdopen(report_read, "rb") as report:
        facts = _read_facts(report.read())
    cpu = usage.ru_utime + usage.ru_stime
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    signal_name = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None
    notes = []
    if not limits.network and not facts.get("network_blocked"):
        notes.append("Network access is not blocked on this system (that needs root or user namespaces).")
    if os.geteuid() == 0 and not facts.get("writes_confined"):
        notes.append("Writes outside the sandbox folder are not blocked here (running as root without namespaces).")
    if not facts.get("process_limit"):
        notes.append("The process-count limit is not enforced here (running as root without a pids cgroup).")
    return SandboxResult(
        exit_code=exit_code,
        signal=signal_name,
        timed_out=timed_out,
        stdout=out.text(),
        stderr=err.text(),
        stdout_truncated=out.dropped > 0,
        stderr_truncated=err.dropped > 0,
        wall_seconds=time.monotonic() - started,
        cpu_seconds=cpu,
        max_rss_bytes=usage.ru_maxrss * 1024,
        network_blocked=bool(facts.get("network_blocked")),
        # Inside a PID namespace the program is init, which ignores SIGXCPU:
        # the hard limit's SIGKILL ends it instead.
        cpu_limit_hit=signal_name in ("SIGXCPU", "SIGKILL") and cpu >= limits.cpu_seconds - 0.05,
        notes=tuple(notes),
    )


def _read_facts(raw: bytes) -> dict[str, bool]:
    try:
        data = json.loads(raw.decode() or "{}")
    except ValueError:
        return {}
    return {key: bool(value) for key, value in data.items()} if isinstance(data, dict) else {}


def _pump(process: subprocess.Popen[bytes], out: _Capped, err: _Capped, deadline: float) -> bool:
    """Drain both pipes until they close or the deadline passes; True on timeout."""
    assert process.stdout is not None and process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, out)
    selector.register(process.stderr, selectors.EVENT_READ, err)
    open_streams = 2
    try:
        while open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _kill_group(process)
                return True
            for key, _ in selector.select(timeout=min(remaining, 0.5)):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
        # Output closed; the program may still be running (it closed its
        # streams, or a child holds none): wait for it within the deadline.
        # WNOWAIT: look without reaping, so wait4 can still collect its usage.
        while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                _kill_group(process)
                return True
            time.sleep(0.01)
        return False
    finally:
        selector.close()
        process.stdout.close()
        process.stderr.close()


# The launcher runs with -I -S (no site, no user paths), so it finds the app's
# code through the PYTHONPATH set above and nothing from the program's folder.
_LAUNCH = "import sys; sys.path.insert(0, __import__('os').environ['PYTHONPATH']); " + (
    "from app.core.sandbox.launcher import main; sys.exit(main(sys.argv))"
)
