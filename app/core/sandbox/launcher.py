"""The sandbox's first process: confines itself, then runs the program.

Run as ``python -I -m app.core.sandbox.launcher SPEC_JSON -- ARGV...`` by
``run_sandboxed``. Confining a fresh process (rather than using a
``preexec_fn`` in the app, which has many threads) keeps it fork-safe.

As root, namespaces come first: a new network namespace has no interfaces
but a down loopback, so nothing is reachable; in a new PID namespace the
program is "init", and when it ends the kernel kills everything it left
behind. Then the resource limits, which every descendant inherits.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18

# Exit codes for "the launcher could not start the program".
LAUNCH_FAILED = 126
NOT_FOUND = 127


def _unshare(flags: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.unshare(flags) == 0)


def _mount(source: str | None, target: str, flags: int) -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    encoded = source.encode() if source else None
    return bool(libc.mount(encoded, target.encode(), None, ctypes.c_ulong(flags), None) == 0)


def _read_only_except(folder: str) -> bool:
    """In a new mount namespace, make every mount read-only but ``folder``.

    Root ignores file permissions, so this is what stops a program run as
    root from writing outside its folder. The host's mounts are untouched.
    """
    if not _unshare(CLONE_NEWNS) or not _mount(None, "/", MS_REC | MS_PRIVATE):
        return False
    if not _mount(folder, folder, MS_BIND | MS_REC):
        return False
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    root_done = False
    for point in points:
        if point == folder:
            continue
        done = _mount(None, point, MS_REMOUNT | MS_BIND | MS_RDONLY)
        root_done = root_done or (point == "/" and done)
    return root_done


def _join_cgroup(path: str) -> bool:
    """Move this process into the pids cgroup the parent prepared."""
    if not path:
        return False
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))
        return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    program = argv[argv.index("--") + 1 :]
    limits = spec["limits"]
    is_root = os.geteuid() == 0
    facts = {
        "network_blocked": bool(not spec["network"] and is_root and _unshare(CLONE_NEWNET)),
        "pid_namespace": bool(is_root and _unshare(CLONE_NEWPID)),
        "process_limit": _join_cgroup(spec.get("cgroup", "")) or not is_root,
        "writes_confined": bool(is_root and _read_only_except(spec["cwd"])),
    }
    report_fd = int(spec["report_fd"])
    os.write(report_fd, json.dumps(facts).encode())
    os.close(report_fd)

    resource.setrlimit(resource.RLIMIT_CPU, (limits["cpu"], limits["cpu"] + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits["file_size"], limits["file_size"]))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if not is_root:  # root ignores RLIMIT_NPROC; it gets the pids cgroup instead
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"], limits["processes"]))
    os.chdir(spec["cwd"])

    if not facts["pid_namespace"]:
        return _exec(program, spec["env"])
    child = os.fork()
    if child == 0:
        os._exit(_exec(program, spec["env"]))
    signal.signal(signal.SIGTERM, lambda *_: os.kill(child, signal.SIGKILL))
    _, status = os.waitpid(child, 0)
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
