"""The sandbox's first process: confines itself, then runs the program.

Run as ``python -I -S -c … SPEC_JSON -- ARGV...`` by ``run_sandboxed`` (or as
a hidden mode of the desktop binary). Confining a fresh process (rather than
a ``preexec_fn`` in the app, which has many threads) keeps it fork-safe. It
imports nothing but the standard library and ``namespaces``.

With isolation ("namespaces", root or not) the launcher enters a new user
namespace with mount, network and PID namespaces and forks the program's
process, which is "init" of the new PID namespace: it builds the new root
file system, sets the resource limits and execs the program. When the
program ends, the kernel kills everything it left behind in its namespace;
when the launcher dies (the app stops the run), the program dies with it.
In "limits-only" mode (no user namespaces here, and the user agreed) only the
resource limits apply.

The launcher writes what it achieved as JSON to the report pipe before the
program starts; the app puts that into every result.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import time
from typing import Any

from app.core.sandbox import namespaces

# Exit codes for "the launcher could not start the program".
LAUNCH_FAILED = 126
NOT_FOUND = 127
PR_SET_CHILD_SUBREAPER = 36


def _join_cgroup(path: str) -> bool:
    """Move this process into the pids cgroup the parent prepared (root only)."""
    if not path:
        return False
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
        return True
    except OSError:
        return False


def _report(fd: int, facts: dict[str, Any]) -> None:
    try:
        os.write(fd, json.dumps(facts).encode())
    finally:
        os.close(fd)


def _set_limits(limits: dict[str, int], *, processes: bool) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits["open_files"], limits["open_files"]))
    if processes:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))


def _kernel_counts_per_namespace() -> bool:
    """Since Linux 5.14 RLIMIT_NPROC counts per user namespace, and binds root's mapped user too."""
    try:
        major, minor = (int(part) for part in os.uname().release.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (5, 14)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    program = argv[argv.index("--") + 1 :]
    report_fd = int(spec["report_fd"])
    is_root = os.geteuid() == 0
    in_cgroup = _join_cgroup(spec.get("cgroup", ""))
    if spec["isolation"] == "namespaces":
        try:
            namespaces.enter(bool(spec.get("simulate_failure")), network=bool(spec.get("network")))
        except (namespaces.IsolationFailed, OSError) as err:
            _report(report_fd, {"isolation": "unavailable", "error": str(err)})
            return LAUNCH_FAILED
        process_limit = in_cgroup or not is_root or _kernel_counts_per_namespace()
        return _run_as_init(spec, program, report_fd, process_limit)
    _report(report_fd, {"isolation": spec["isolation"], "process_limit": in_cgroup or not is_root})
    if spec.get("probe"):
        return 0
    if sys.platform.startswith("linux"):
        return _run_as_reaper(spec, program, is_root)
    # macOS (sandbox-exec around this launcher): limits, then the program in its place.
    _set_limits(spec["limits"], processes=not is_root)
    os.chdir(spec["cwd"])
    return _exec(program, spec["env"])


def _run_as_reaper(spec: dict[str, Any], program: list[str], is_root: bool) -> int:
    """Limits only: run the program as a child and, when it ends, kill whatever it left.

    As a child subreaper the launcher inherits every orphan of the program,
    also those that started a new session (which the app's kill of the
    process group would miss); SIGTERM from the app ends them all too.
    """
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    child = os.fork()
    if child == 0:
        # Root ignores RLIMIT_NPROC; it gets the pids cgroup instead.
        _set_limits(spec["limits"], processes=not is_root)
        os.chdir(spec["cwd"])
        os._exit(_exec(program, spec["env"]))
    signal.signal(signal.SIGTERM, _end_everything)
    _, status = os.waitpid(child, 0)
    _kill_descendants()
    return _end_like(status)


def _end_everything(signum: int, frame: object) -> None:
    _kill_descendants()
    os._exit(LAUNCH_FAILED)


def _kill_descendants() -> None:
    """SIGKILL every process whose parent is this one, until none is left (orphans come here)."""
    me = str(os.getpid())
    while True:
        found = False
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    parent = stat.read().rsplit(")", 1)[1].split()[1]
            except (OSError, IndexError):
                continue
            if parent == me:
                found = True
                with contextlib.suppress(OSError):
                    os.kill(int(pid), signal.SIGKILL)
        while True:
            try:
                reaped, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if reaped == 0:
                break
        if not found:
            time.sleep(0.01)  # children still exiting; waitpid above collects them


def _run_as_init(spec: dict[str, Any], program: list[str], report_fd: int, process_limit: bool) -> int:
    child = os.fork()
    if child == 0:
        try:
            namespaces.build_root(
                spec["staging"],
                spec["cwd"],
                list(spec["read_only"]),
                list(spec["hidden"]),
                int(spec["limits"]["disk"]),
                int(spec["limits"]["inodes"]),
            )
        except (namespaces.IsolationFailed, OSError) as err:
            _report(report_fd, {"isolation": "failed", "error": str(err)})
            os._exit(LAUNCH_FAILED)
        _report(report_fd, {"isolation": "namespaces", "process_limit": process_limit})
        if spec.get("probe"):
            os._exit(0)
        _set_limits(spec["limits"], processes=True)
        namespaces.before_exec()
        os._exit(_exec(program, spec["env"]))
    os.close(report_fd)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
    return _end_like(status)


def _end_like(status: int) -> int:
    if os.WIFSIGNALED(status):
        # End the same way, so the parent sees the program's signal.
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.kill(os.getpid(), number)
    return os.WEXITSTATUS(status)


def _exec(program: list[str], env: dict[str, str]) -> int:
    try:
        os.execvpe(program[0], program, env)
    except FileNotFoundError:
        print(f"sandbox: program not found: {program[0]}", file=sys.stderr)
        return NOT_FOUND
    except OSError as err:
        print(f"sandbox: cannot start {program[0]}: {err}", file=sys.stderr)
        return LAUNCH_FAILED
    return LAUNCH_FAILED  # pragma: no cover - execvpe does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
