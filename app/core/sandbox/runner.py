"""Running code the user did not write: isolation, limits, a throwaway folder.

``run_sandboxed`` starts ``launcher.py`` in a new session (its own process
group) with a scrubbed environment, no standard input and a fresh temporary
working directory; the launcher confines itself and execs the program. The
parent enforces the wall-clock limit, caps what it keeps of the output (a
program printing 100 MB costs a bounded amount of memory), and at the end
kills the whole group and removes the folder, so nothing is left behind.

How the program is isolated depends on the platform (``isolation``): on
Linux, user, mount, network and PID namespaces for root and normal users
alike (``namespaces``); on macOS, a ``sandbox-exec`` profile. Where neither
is available only the resource limits apply ("limits-only"), and a run then
needs the caller's explicit ``allow_unisolated=True``, else it raises
``IsolationUnavailable`` with a sentence to show the user. Every result says
which mode it ran in.
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
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from app.core.frozen import SANDBOX_LAUNCHER_ARG, is_frozen, user_code_python
from app.core.sandbox import namespaces
from app.core.sandbox.isolation import (
    Isolation,
    IsolationSupport,
    IsolationUnavailable,
    describe,
    limits_only_notes,
    support_from_facts,
)
from app.core.sandbox.isolation import SandboxError as SandboxError  # public here since the beginning
from app.core.sandbox.macos import SANDBOX_EXEC, macos_profile

MiB = 1024**2
_PIDS_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")
# SYSTEMROOT and friends: Python on Windows cannot start (or open sockets) without them.
_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT", "COMSPEC", "PATHEXT")
_INODES = 20_000  # files and folders the work folder may hold (isolated runs)


@dataclass(frozen=True)
class SandboxLimits:
    """What a sandboxed program may use."""

    wall_seconds: float = 30.0
    cpu_seconds: int = 30
    memory_bytes: int = 2 * 1024 * MiB  # address space
    file_size_bytes: int = 64 * MiB  # largest file it may write
    processes: int = 64
    output_bytes: int = 1 * MiB  # kept per stream; the rest is read and dropped
    disk_bytes: int = 256 * MiB  # the work folder's size (isolated runs: a tmpfs)
    open_files: int = 256
    network: bool = False  # True keeps the network (no network namespace; limits-only runs have it anyway)


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
    isolation: Isolation = "limits-only"

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def isolation_text(self) -> str:
        """One line saying how the program was isolated (shown beside every run)."""
        return describe(self.isolation)

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
    if _euid() != 0:
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
    """End the launcher and everything of the run.

    SIGTERM first: the launcher then kills what escaped the process group
    (its PID namespace, or the orphans it reaps in limits-only mode); then
    SIGKILL to the whole group for anything that remains.
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 1.0
    with contextlib.suppress(ChildProcessError):
        while os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _platform_isolation() -> Isolation:
    if sys.platform.startswith("linux"):
        return "namespaces"
    if sys.platform == "darwin" and os.path.exists(SANDBOX_EXEC):
        return "sandbox-exec"
    if sys.platform == "win32":
        return "job-object"
    return "limits-only"


def _euid() -> int:
    """The effective user id (-1 on Windows, which has none)."""
    return os.geteuid() if hasattr(os, "geteuid") else -1


_support_cache: dict[tuple[str, str, int, bool], tuple[IsolationSupport, float]] = {}
_support_lock = threading.Lock()
_RETRY_SECONDS = 30.0  # a failed probe is repeated after this long (it may have been a passing hiccup)


def _simulated_failure() -> bool:
    """Tests (and curious users) can make the namespace call fail, as where user namespaces are disabled."""
    return os.environ.get(namespaces.SIMULATE_ENV, "") not in ("", "0")


def isolation_support() -> IsolationSupport:
    """The isolation sandboxed runs get on this machine.

    Probed once per process, user and launcher; a failed probe is repeated
    after a while rather than remembered for good.
    """
    key = (sys.platform, sys.executable, _euid(), _simulated_failure())
    with _support_lock:
        cached = _support_cache.get(key)
        if cached is None or (not cached[0].isolated and time.monotonic() - cached[1] > _RETRY_SECONDS):
            cached = (_probe(_platform_isolation()), time.monotonic())
            _support_cache[key] = cached
        return cached[0]


def _probe(wanted: Isolation) -> IsolationSupport:
    if wanted in ("limits-only", "job-object"):
        reason = "" if wanted == "job-object" else f"no isolation is built for {sys.platform}"
        return IsolationSupport(wanted, reason)
    if wanted == "sandbox-exec":
        return IsolationSupport("sandbox-exec")  # the run itself reports a profile that fails to apply
    base = Path(tempfile.mkdtemp(prefix="quillpad-sandbox-"))
    try:
        (base / "work").mkdir()
        (base / "root").mkdir()
        spec = _spec(base, SandboxLimits(), {"PATH": "/usr/bin:/bin"}, "", wanted, probe=True)
        process, report_read = _start(["true"], spec, base / "work")
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
        with os.fdopen(report_read, "rb") as report:
            facts = _read_facts(report.read())
        return support_from_facts(facts, wanted)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_sandboxed(
    argv: Sequence[str],
    *,
    files: Mapping[str, str | bytes] | None = None,
    limits: SandboxLimits | None = None,
    env: Mapping[str, str] | None = None,
    allow_unisolated: bool = False,
    stop_requested: Callable[[], bool] | None = None,
) -> SandboxResult:
    """Run ``argv`` in a fresh temporary folder holding ``files``, within ``limits``.

    Raises ``IsolationUnavailable`` when this system cannot isolate the
    program, unless ``allow_unisolated`` (the user chose to run with limits
    only). ``stop_requested`` is polled while the program runs (a Stop
    button, an agent's time limit): once it is true the program and its
    children are killed and the result says "Stopped.".
    """
    limits = limits or SandboxLimits()
    if not argv:
        raise SandboxError("There is no program to run; give the sandbox a command.")
    support = isolation_support()
    if not support.isolated and not allow_unisolated:
        raise IsolationUnavailable(support)
    base = Path(tempfile.mkdtemp(prefix="quillpad-sandbox-"))
    workdir = base / "work"
    cgroup = _make_pids_cgroup(limits.processes)
    try:
        workdir.mkdir()
        (base / "root").mkdir()
        for name, content in (files or {}).items():
            target = (workdir / name).resolve()
            if workdir.resolve() not in target.parents:
                raise SandboxError(f"The file name {name!r} points outside the sandbox folder; use a plain name.")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        if support.mode == "job-object":
            return _run_in_job(list(argv), workdir, limits, _scrubbed_env(env, workdir))
        spec = _spec(base, limits, _scrubbed_env(env, workdir), cgroup, support.mode)
        return _run(list(argv), spec, workdir, limits, stop_requested)
    finally:
        _remove_cgroup(cgroup)
        shutil.rmtree(base, ignore_errors=True)


def run_python(
    code: str,
    *,
    limits: SandboxLimits | None = None,
    args: Sequence[str] = (),
    allow_unisolated: bool = False,
    stop_requested: Callable[[], bool] | None = None,
) -> SandboxResult:
    """Run Python source in the sandbox, isolated (-I): with this app's interpreter, or in the
    desktop binary (which has none) with Python 3 from PATH."""
    python = user_code_python()
    if python is None:
        raise SandboxError(
            "Running Python code needs a Python 3 interpreter; install Python 3 and make sure python3 is on PATH."
        )
    return run_sandboxed(
        [python, "-I", "main.py", *args],
        files={"main.py": code},
        limits=limits,
        allow_unisolated=allow_unisolated,
        stop_requested=stop_requested,
    )


def _code_root() -> str:
    """The folder holding the ``app`` package (a plain folder when installed)."""
    return str(Path(str(resources.files("app"))).resolve().parent)


def _launcher_command(spec: str) -> tuple[list[str], dict[str, str]]:
    """How to start the launcher, and the extra environment it needs.

    Installed, it is Python code run by this interpreter; in the desktop
    binary, the binary itself runs it in a hidden mode.
    """
    if is_frozen():
        return [sys.executable, SANDBOX_LAUNCHER_ARG, spec], {}
    return [sys.executable, "-I", "-S", "-c", _LAUNCH, spec], {"PYTHONPATH": _code_root()}


def _homes() -> list[str]:
    """The user's home folders, shown empty inside (``$HOME`` and the account's, if different)."""
    found = {os.path.expanduser("~")}
    with contextlib.suppress(ImportError, KeyError):
        import pwd

        found.add(pwd.getpwuid(os.geteuid()).pw_dir)
    return sorted(home for home in found if home not in ("", "/"))


def _interpreter_folders() -> list[str]:
    """The folders an interpreter run inside needs besides the system's: this Python's prefixes.

    A folder that holds a home (or is ``/``) is never exposed; a virtual
    environment inside a home is, alone.
    """
    homes = _homes()
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    system = tuple(path + "/" for path in namespaces.SYSTEM_PATHS)
    kept = []
    for folder in sorted(folders):
        if (
            folder in ("", "/")
            or (folder + "/").startswith(system)
            or any((home + "/").startswith(folder.rstrip("/") + "/") for home in homes)
        ):
            continue
        kept.append(folder)
    return kept


def _spec(
    base: Path, limits: SandboxLimits, env: dict[str, str], cgroup: str, isolation: Isolation, probe: bool = False
) -> dict[str, object]:
    return {
        "limits": {
            "cpu": max(1, int(limits.cpu_seconds)),
            "memory": int(limits.memory_bytes),
            "file_size": int(limits.file_size_bytes),
            "processes": int(limits.processes),
            "open_files": int(limits.open_files),
            "disk": int(limits.disk_bytes),
            "inodes": _INODES,
        },
        "isolation": "namespaces" if isolation == "namespaces" else "limits-only",
        "simulate_failure": _simulated_failure(),
        "probe": probe,
        "cwd": str(base / "work"),
        "staging": str(base / "root"),
        "read_only": _interpreter_folders(),
        "hidden": _homes(),
        "env": env,
        "cgroup": cgroup,
        "network": limits.network,
        "sandbox_exec": isolation == "sandbox-exec",
    }


def _start(argv: list[str], spec: dict[str, object], workdir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """Start the launcher for ``argv``; returns the process and the read end of its report pipe."""
    report_read, report_write = os.pipe()
    spec = {**spec, "report_fd": report_write}
    launcher, launcher_extra = _launcher_command(json.dumps(spec))
    if spec.get("sandbox_exec"):
        readable = [*_interpreter_folders(), _code_root()]
        profile = macos_profile(
            os.path.realpath(workdir), [os.path.realpath(p) for p in readable], network=bool(spec.get("network"))
        )
        launcher = [SANDBOX_EXEC, "-p", profile, *launcher]
    env = spec["env"]
    assert isinstance(env, dict)
    try:
        process = subprocess.Popen(
            [*launcher, "--", *argv],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={"PATH": env["PATH"], **launcher_extra},
            cwd=workdir,
            start_new_session=True,
            pass_fds=(report_write,),
        )
    except OSError as start_error:
        os.close(report_read)
        raise SandboxError(
            f"The sandbox could not start ({start_error.strerror}); check that Python can run here."
        ) from None
    finally:
        os.close(report_write)
    return process, report_read


def _run(
    argv: list[str],
    spec: dict[str, object],
    workdir: Path,
    limits: SandboxLimits,
    stop_requested: Callable[[], bool] | None = None,
) -> SandboxResult:
    started = time.monotonic()
    process, report_read = _start(argv, spec, workdir)
    out, err = _Capped(limits.output_bytes), _Capped(limits.output_bytes)
    stopped: list[bool] = []
    timed_out = _pump(process, out, err, started + limits.wall_seconds, stop_requested, stopped)
    _kill_group(process)  # children that outlived the program, in any case
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = status
    with os.fdopen(report_read, "rb") as report:
        facts = _read_facts(report.read())
    wanted: Isolation = (
        "sandbox-exec"
        if spec.get("sandbox_exec")
        else ("namespaces" if spec["isolation"] == "namespaces" else "limits-only")
    )
    if wanted == "namespaces" and facts.get("isolation") != "namespaces":
        # The probe said yes but this run could not be isolated: never fall back silently.
        raise SandboxError(
            f"The sandbox could not isolate the program ({facts.get('error') or 'no report'}); it was not run."
        )
    if wanted == "sandbox-exec" and not facts:
        # sandbox-exec refused the profile before the launcher ran: nothing ran.
        raise SandboxError(
            f"The macOS sandbox could not start ({err.text().strip()[:200] or 'no reason given'}); nothing was run."
        )
    cpu = usage.ru_utime + usage.ru_stime
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    signal_name = signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else None
    isolated = wanted != "limits-only"
    notes = [] if isolated else limits_only_notes(os.geteuid() == 0, bool(facts.get("process_limit")))
    if stopped:
        notes.insert(0, "Stopped.")
    if isolated and not facts.get("process_limit"):
        notes.append("The process-count limit is not enforced here (running as root without a pids cgroup).")
    return SandboxResult(
        exit_code=exit_code,
        signal=signal_name,
        timed_out=timed_out and not stopped,
        stdout=out.text(),
        stderr=err.text(),
        stdout_truncated=out.dropped > 0,
        stderr_truncated=err.dropped > 0,
        wall_seconds=time.monotonic() - started,
        cpu_seconds=cpu,
        max_rss_bytes=usage.ru_maxrss * 1024,
        network_blocked=isolated and not limits.network,
        # Inside a PID namespace the program is init, which ignores SIGXCPU:
        # the hard limit's SIGKILL ends it instead.
        cpu_limit_hit=signal_name in ("SIGXCPU", "SIGKILL") and cpu >= limits.cpu_seconds - 0.05,
        notes=tuple(notes),
        isolation=wanted,
    )


def _run_in_job(argv: list[str], workdir: Path, limits: SandboxLimits, env: dict[str, str]) -> SandboxResult:
    """Windows: the limits of a job object, no isolation (the caller had the user's consent)."""
    from app.core.sandbox import windows

    out, err = _Capped(limits.output_bytes), _Capped(limits.output_bytes)
    try:
        run = windows.run_in_job(
            argv,
            cwd=str(workdir),
            env=env,
            limits=limits,
            wall_seconds=limits.wall_seconds,
            on_stdout=out.add,
            on_stderr=err.add,
        )
    except OSError as error:
        raise SandboxError(f"The sandbox could not start ({error}); check that Python can run here.") from None
    cpu_hit = run.exit_code == windows.ERROR_NOT_ENOUGH_QUOTA and not run.timed_out
    return SandboxResult(
        exit_code=None if run.timed_out else run.exit_code,
        signal=None,
        timed_out=run.timed_out,
        stdout=out.text(),
        stderr=err.text(),
        stdout_truncated=out.dropped > 0,
        stderr_truncated=err.dropped > 0,
        wall_seconds=run.wall_seconds,
        cpu_seconds=0.0,  # the job's accounting is not read back
        max_rss_bytes=0,
        network_blocked=False,
        cpu_limit_hit=cpu_hit,
        notes=("Not isolated: the code could read your files and use the network (Windows job object limits only).",),
        isolation="job-object",
    )


def _read_facts(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw.decode() or "{}")
    except ValueError:
        return {}
    return dict(data) if isinstance(data, dict) else {}


def _pump(
    process: subprocess.Popen[bytes],
    out: _Capped,
    err: _Capped,
    deadline: float,
    stop_requested: Callable[[], bool] | None = None,
    stopped: list[bool] | None = None,
) -> bool:
    """Drain both pipes until they close, the deadline passes or a stop is requested (noted in
    ``stopped``); True when the program was ended early."""
    assert process.stdout is not None and process.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ, out)
    selector.register(process.stderr, selectors.EVENT_READ, err)
    open_streams = 2
    try:
        while open_streams:
            remaining = deadline - time.monotonic()
            if stop_requested is not None and stop_requested():
                if stopped is not None:
                    stopped.append(True)
                _kill_group(process)
                return True
            if remaining <= 0:
                _kill_group(process)
                return True
            for key, _ in selector.select(timeout=min(remaining, 0.5 if stop_requested is None else 0.1)):
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
            if stop_requested is not None and stop_requested() and stopped is not None:
                stopped.append(True)
            if time.monotonic() > deadline or stopped:
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
