"""Small hostile programs that show what the sandbox blocks on this machine.

``quillpad selftest`` and ``quillpad sandbox check`` run the basic probes
(network, writing outside the work folder, reading a secret in the home);
the tests run every probe and every bad input, as root and as a normal user
(``python -m app.core.sandbox.probes --json`` run as that user). Each probe
says whether it was blocked and what happened, in one line; the judgement is
made outside the sandbox, from what is left on the host.

Run this as the user whose home it probes: it writes a mode-600 secret file
there for the duration of the run (and removes it).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from app.core.sandbox.runner import SandboxError, SandboxLimits, SandboxResult, isolation_support, run_python

MiB = 1024**2
LIMITS = SandboxLimits(
    wall_seconds=20,
    cpu_seconds=10,
    memory_bytes=1024 * MiB,
    file_size_bytes=8 * MiB,
    disk_bytes=32 * MiB,
    processes=32,
    open_files=256,
    output_bytes=64 * 1024,
)
BASIC = ("network", "write outside", "read home")


@dataclass(frozen=True)
class Context:
    """What the probes aim at: the host's secrets and the app's process."""

    home: str
    secret_file: str
    secret: str
    app_pid: int
    port: int
    marker: str  # in every probe's command line, to find leftover processes


@dataclass(frozen=True)
class Outcome:
    """One probe's verdict, as plain data."""

    name: str
    kind: str  # "probe" or "bad input"
    blocked: bool
    detail: str
    isolation: str
    folder_removed: bool
    left_running: int


@dataclass(frozen=True)
class Probe:
    name: str
    kind: str
    code: str  # @NAME@ placeholders are filled from the Context
    judge: Callable[[SandboxResult, Context], tuple[bool, str]]
    limits: SandboxLimits = LIMITS
    dangerous: bool = False  # harmful to the app where there is no isolation: never run then
    dangerous_as_root: bool = False  # the same, only when the app runs as root


def _said(result: SandboxResult) -> str:
    lines = [line for line in (result.stdout + "\n" + result.stderr).splitlines() if line.strip()]
    return lines[-1][:160] if lines else result.summary()


def _printed(result: SandboxResult, key: str) -> str:
    for line in result.stdout.splitlines():
        if line.startswith(key + " "):
            return line[len(key) + 1 :]
    return ""


def _network(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    connect, resolve = _printed(result, "CONNECT"), _printed(result, "RESOLVE")
    blocked = bool(connect) and connect != "ok" and bool(resolve) and resolve != "ok"
    return blocked, f"connect to 127.0.0.1: {connect or '?'}; resolve a name: {resolve or '?'}"


def _write_outside(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    written = [path for path in (f"{ctx.home}/quillpad-probe-{ctx.marker}", f"/tmp/quillpad-probe-{ctx.marker}")]
    found = [path for path in written if os.path.exists(path)]
    for path in found:
        with contextlib.suppress(OSError):
            os.remove(path)
    return not found, ("written: " + ", ".join(found)) if found else f"refused ({_printed(result, 'HOME')})"


def _read_home(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    leaked = ctx.secret in result.stdout
    return not leaked, "the secret was read" if leaked else f"not readable ({_printed(result, 'READ')})"


def _memory(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    return "MemoryError" in result.stderr, _said(result)


def _environment(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    leaked = ctx.secret in result.stdout
    return not leaked, "the app's environment leaked" if leaked else "scrubbed"


def _refused(key: str) -> Callable[[SandboxResult, Context], tuple[bool, str]]:
    def judge(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
        said = _printed(result, key)
        return said.startswith("refused"), said or _said(result)

    return judge


def _fork(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    started = _printed(result, "STARTED")
    return started.isdigit() and int(started) < 10_000, f"{started or '?'} of 10000 processes started"


def _disk(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    written, error = _printed(result, "WROTE"), _printed(result, "STOPPED")
    ok = written.isdigit() and int(written) <= LIMITS.disk_bytes + MiB and bool(error)
    return ok, f"{int(written or 0) // MiB} MiB written, then: {error or 'no error'}"


def _stdout(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    kept = len(result.stdout)
    return result.stdout_truncated and kept <= LIMITS.output_bytes, f"kept {kept // 1024} KiB, the rest dropped"


def _files(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    opened, error = _printed(result, "OPENED"), _printed(result, "STOPPED")
    return opened.isdigit() and int(opened) < 100_000, f"{opened or '?'} files opened, then: {error}"


def _proc_environ(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    leaked = ctx.secret in result.stdout
    return not leaked, "the app's environment was read" if leaked else f"own only ({_printed(result, 'ENVIRON')})"


def _timeout(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    return result.timed_out, result.summary()


def _nothing_left(result: SandboxResult, ctx: Context) -> tuple[bool, str]:
    left = _processes_with(ctx.marker)
    return left == 0 and result.exit_code == 0, "killed with the run" if not left else f"{left} left running"


_HEAD = "import os, sys\nprint('CWD', os.getcwd(), flush=True)\n"
_CTYPES = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"

PROBES: tuple[Probe, ...] = (
    Probe(
        "network",
        "probe",
        "import socket\n"
        "try:\n    socket.create_connection(('127.0.0.1', @PORT@), timeout=3).close(); print('CONNECT ok')\n"
        "except OSError as e:\n    print('CONNECT', 'refused:' if isinstance(e, ConnectionRefusedError) else '', e)\n"
        "try:\n    socket.getaddrinfo('example.com', 80); print('RESOLVE ok')\n"
        "except OSError as e:\n    print('RESOLVE', e)\n",
        _network,
    ),
    Probe(
        "write outside",
        "probe",
        "for path in ('@HOME@/quillpad-probe-@MARKER@', '/tmp/quillpad-probe-@MARKER@'):\n"
        "    try:\n        open(path, 'w').write('x')\n    except OSError as e:\n        print('HOME', e)\n",
        _write_outside,
    ),
    Probe(
        "read home",
        "probe",
        "try:\n    print('READ', open('@SECRET_FILE@').read())\n"
        "except OSError as e:\n    print('READ', e)\n"
        "print(sorted(os.listdir('@HOME@')) if os.path.isdir('@HOME@') else 'no home')\n",
        _read_home,
    ),
    Probe("allocate 8 GB", "probe", "x = bytearray(8 * 1024**3)\n", _memory),
    Probe(
        "sleep left in a new session",
        "probe",
        "import subprocess\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '@MARKER@'],"
        " start_new_session=True)\n",
        _nothing_left,
    ),
    Probe("environment", "probe", "print(dict(os.environ))\n", _environment),
    Probe(
        "fork 10,000 processes",
        "bad input",
        "import time\nstarted = 0\n"
        "for _ in range(10_000):\n"
        "    try:\n        pid = os.fork()\n    except OSError as e:\n        error = e\n        break\n"
        "    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
        "    started += 1\n"
        "print('STARTED', started, flush=True)\n",
        _fork,
        dangerous=True,
    ),
    Probe(
        "fill the disk of the work folder",
        "bad input",
        "written = 0\nchunk = b'x' * (1024 * 1024)\n"
        "try:\n    for n in range(100_000):\n"
        "        with open(f'fill{n}', 'wb') as f:\n"
        "            for _ in range(4):\n                f.write(chunk); f.flush(); written += len(chunk)\n"
        "except OSError as e:\n    print('STOPPED', e)\n"
        "print('WROTE', written)\n",
        _disk,
        dangerous=True,
    ),
    Probe(
        "write 1 GB to stdout",
        "bad input",
        "chunk = 'x' * (1024 * 1024)\nfor _ in range(1024):\n    sys.stdout.write(chunk)\n",
        _stdout,
    ),
    Probe(
        "open 100,000 files",
        "bad input",
        "kept = []\n"
        "try:\n    for _ in range(100_000):\n        kept.append(open('/dev/null'))\n"
        "except OSError as e:\n    print('STOPPED', e)\n"
        "print('OPENED', len(kept))\n",
        _files,
    ),
    Probe(
        "change its own limits",
        "bad input",
        "import resource\n"
        "try:\n    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "    resource.setrlimit(resource.RLIMIT_NPROC, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
        "    print('LIMITS raised')\n"
        "except (ValueError, OSError) as e:\n    print('LIMITS refused:', e)\n",
        _refused("LIMITS"),
    ),
    Probe(
        "ptrace the parent",
        "bad input",
        _CTYPES + "results = []\n"
        "for pid in (os.getppid(), @APP_PID@):\n"
        "    if not pid:\n        results.append('no parent visible')\n"
        "    elif libc.ptrace(16, pid, None, None) == 0:\n        results.append(f'attached to {pid}')\n"
        "    else:\n        results.append(f'{pid}: ' + os.strerror(ctypes.get_errno()))\n"
        "attached = any('attached' in r for r in results)\n"
        "print('PTRACE', ('attached ' if attached else 'refused: ') + '; '.join(results))\n",
        _refused("PTRACE"),
        dangerous=True,
    ),
    Probe(
        "unshare again",
        "bad input",
        _CTYPES + "said = []\n"
        "for name, flags in (('user', 0x10000000), ('mount+network', 0x00020000 | 0x40000000)):\n"
        "    ok = libc.unshare(flags) == 0\n"
        "    said.append(f'{name}: ' + ('succeeded' if ok else os.strerror(ctypes.get_errno())))\n"
        "print('UNSHARE', ('refused: ' if 'succeeded' not in str(said) else '') + '; '.join(said))\n",
        _refused("UNSHARE"),
    ),
    Probe(
        "mount",
        "bad input",
        _CTYPES + "os.mkdir('m')\n"
        "ok = libc.mount(b'tmpfs', b'm', b'tmpfs', 0, None) == 0\n"
        "print('MOUNT', 'mounted' if ok else 'refused: ' + os.strerror(ctypes.get_errno()))\n",
        _refused("MOUNT"),
        dangerous_as_root=True,  # root without namespaces would mount on the host
    ),
    Probe(
        "read /proc/1/environ",
        "bad input",
        "try:\n    data = open('/proc/1/environ', 'rb').read().decode(errors='replace')\n"
        "    print(data)\n    print('ENVIRON', len(data), 'bytes')\n"
        "except OSError as e:\n    print('ENVIRON', e)\n",
        _proc_environ,
    ),
    Probe(
        "signal the app",
        "bad input",
        "import signal\n"
        "try:\n    os.kill(@APP_PID@, 0)\n    print('SIGNAL sent')\n"
        "except OSError as e:\n    print('SIGNAL refused:', e)\n",
        _refused("SIGNAL"),
    ),
    Probe(
        "sleep forever",
        "bad input",
        "import time\ntime.sleep(10**9)\n",
        _timeout,
        limits=SandboxLimits(**{**asdict(LIMITS), "wall_seconds": 2}),
    ),
)


def _fill(code: str, ctx: Context) -> str:
    for key, value in asdict(ctx).items():
        code = code.replace(f"@{key.upper()}@", str(value))
    return code


def _processes_with(marker: str) -> int:
    """Processes on the host whose command line holds ``marker``."""
    count = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                count += 1
    return count


def _kill_marked(marker: str) -> None:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes() and int(pid) != os.getpid():
                os.kill(int(pid), 9)


@contextlib.contextmanager
def _targets() -> Iterator[Context]:
    """A secret in the home (mode 600), a marker in the environment, a listening port."""
    home = os.path.expanduser("~")
    secret, marker = secrets.token_hex(16), f"qprobe{secrets.token_hex(8)}"
    secret_file = os.path.join(home, f".quillpad-probe-secret-{marker}")
    listener = socket.create_server(("127.0.0.1", 0))
    before = os.environ.get("QUILLPAD_PROBE_SECRET")
    try:
        descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret)
        os.environ["QUILLPAD_PROBE_SECRET"] = secret  # the app's environment, as far as the probes know
        yield Context(home, secret_file, secret, os.getpid(), listener.getsockname()[1], marker)
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.remove(secret_file)
        if before is None:
            os.environ.pop("QUILLPAD_PROBE_SECRET", None)
        else:
            os.environ["QUILLPAD_PROBE_SECRET"] = before


def run_probes(names: Sequence[str] | None = None, *, allow_unisolated: bool = False) -> list[Outcome]:
    """Run the named probes (all when None) and judge each from the host's side.

    Without isolation (``allow_unisolated``) the probes that would harm the
    app or the machine are left out.
    """
    chosen = [p for p in PROBES if names is None or p.name in names]
    if not isolation_support().isolated:
        root = os.geteuid() == 0
        chosen = [p for p in chosen if not p.dangerous and not (root and p.dangerous_as_root)]
    outcomes = []
    with _targets() as ctx:
        for probe in chosen:
            result = run_python(
                _HEAD + _fill(probe.code, ctx),
                limits=probe.limits,
                args=[ctx.marker],
                allow_unisolated=allow_unisolated,
            )
            blocked, detail = probe.judge(result, ctx)
            cwd = _printed(result, "CWD")
            removed = bool(cwd) and not os.path.exists(cwd) and not os.path.exists(os.path.dirname(cwd))
            left = _processes_with(ctx.marker)
            _kill_marked(ctx.marker)  # what escaped a run without isolation (the outcome says so)
            outcomes.append(Outcome(probe.name, probe.kind, blocked, detail, result.isolation, removed, left))
    return outcomes


@dataclass(frozen=True)
class Check:
    """One line of ``quillpad selftest`` / ``quillpad sandbox check``."""

    name: str
    ok: bool
    detail: str


def check_isolation(names: Sequence[str] = BASIC) -> list[Check]:
    """What is isolated on this machine: the mode, then each probe (run only when isolated).

    Without isolation the probes are not run (that would run code unisolated
    just to show it); the notice says what is missing instead, and that is
    not a failure of the app.
    """
    support = isolation_support()
    checks = [Check("sandbox isolation", True, support.description)]
    if not support.isolated:
        return [*checks, Check("sandbox probes", True, "not run: " + support.notice)]
    try:
        outcomes = run_probes(names)
    except SandboxError as err:  # no Python to run the probes with (the desktop binary without python3)
        return [*checks, Check("sandbox probes", True, f"not run: {err}")]
    for outcome in outcomes:
        clean = outcome.folder_removed and not outcome.left_running
        verdict = "blocked" if outcome.blocked else "NOT BLOCKED"
        checks.append(Check(f"sandbox {outcome.name}", outcome.blocked and clean, f"{verdict}: {outcome.detail}"))
    return checks


def main(argv: Sequence[str] | None = None) -> int:
    """Run probes and print one JSON list (``--json``) or a table; exit 0 if all were blocked."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = [a.removeprefix("--probe=") for a in args if a.startswith("--probe=")] or None
    outcomes = run_probes(names, allow_unisolated="--unsafe-no-isolation" in args)
    if "--json" in args:
        print(json.dumps([asdict(o) for o in outcomes]))
    else:
        for outcome in outcomes:
            print(f"{'blocked' if outcome.blocked else 'NOT BLOCKED':12} {outcome.name}: {outcome.detail}")
    return 0 if all(o.blocked and o.folder_removed and not o.left_running for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
