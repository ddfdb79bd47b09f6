"""Linux isolation without root: a user namespace owning new mount, network and PID namespaces.

Runs inside the launcher (standard library only). ``enter`` unshares the
namespaces and maps the caller (root or not) to the unprivileged user
``SANDBOX_UID`` inside; ``build_root`` then, in the PID namespace's first
process, assembles a new root file system on an empty tmpfs:

- read-only binds of the system paths an interpreter needs (``/usr``, the
  library folders, a few files of ``/etc``) and of the interpreter's own
  prefix (a virtual environment);
- the work folder: a size- and inode-limited tmpfs, the only writable place,
  holding a copy of the files the program was given (``TMPDIR`` points
  there; the host's ``/tmp`` is not visible);
- the user's home as an empty directory, nothing else of ``/home``, ``/root``,
  ``/media`` or the rest of the host;
- ``/dev/null`` and friends, and a ``/proc`` of the new PID namespace only.

It then pivots into that root and detaches the old one. The program runs with
no capabilities (its user is not root inside), so it can neither mount nor
undo any of this, and ``max_user_namespaces`` is 0 inside, so it cannot
unshare again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import shutil

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
# statvfs flags a bind remount must keep (a user namespace may not clear them);
# ST_RELATIME is 4096 in statvfs but MS_RELATIME in mount(2).
_KEPT_FLAGS = ((1, MS_RDONLY), (2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME), (2048, MS_NODIRATIME))
_ST_RELATIME = 4096
PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG = 38, 1
# pivot_root has no glibc wrapper; its number per architecture (chroot otherwise).
_SYS_PIVOT_ROOT = {"x86_64": 155, "amd64": 155, "aarch64": 41, "arm64": 41, "riscv64": 41, "ppc64le": 203}

SANDBOX_UID = SANDBOX_GID = 1000
# What an interpreter needs from the host; each is bound read-only when it exists.
SYSTEM_PATHS = (
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/alternatives",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
SIMULATE_ENV = "QUILLPAD_SANDBOX_SIMULATE_NO_NAMESPACES"


class IsolationFailed(Exception):
    """A step of building the isolation failed; the message names it."""


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise IsolationFailed(f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc().mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def enter(simulate_failure: bool, network: bool = False) -> None:
    """Unshare user, mount, network (unless ``network``) and PID namespaces; map this process's user inside.

    Raises ``IsolationFailed`` when the system does not allow it (user
    namespaces disabled, or ``simulate_failure`` set by tests).
    """
    uid, gid = os.geteuid(), os.getegid()
    if simulate_failure:
        raise IsolationFailed("unshare: Operation not permitted (simulated)")
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | (0 if network else CLONE_NEWNET)
    _check(_libc().unshare(flags), "unshare")
    # Root outside is mapped to an ordinary user inside too: the program then
    # loses every capability at exec, whoever started the app.
    _write("/proc/self/setgroups", "deny")
    _write("/proc/self/uid_map", f"{SANDBOX_UID} {uid} 1")
    _write("/proc/self/gid_map", f"{SANDBOX_GID} {gid} 1")


def _kept_flags(path: str) -> int:
    try:
        flags = os.statvfs(path).f_flag
    except OSError:
        return 0
    kept = sum(mount_flag for st_flag, mount_flag in _KEPT_FLAGS if flags & st_flag)
    return kept | (MS_RELATIME if flags & _ST_RELATIME else 0)


def _make_target(root: str, path: str, is_dir: bool) -> str:
    target = root + path
    if is_dir:
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            open(target, "w").close()
    return target


def _bind_read_only(root: str, path: str) -> None:
    """Bind host ``path`` at the same place under ``root``, read-only (submounts too)."""
    if os.path.islink(path):
        # Merged /usr (/bin -> usr/bin), /etc/localtime, a linked venv: the link
        # itself, then its target unless that is visible already.
        link = root + path
        if not os.path.lexists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.readlink(path), link)
        real = os.path.realpath(path)
        if os.path.exists(real) and not os.path.lexists(root + real):
            _bind_read_only(root, real)
        return
    if not os.path.exists(path):
        return
    target = _make_target(root, path, os.path.isdir(path))
    _mount(path, target, None, MS_BIND | MS_REC)
    for point in _mounts_under(target):
        _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _kept_flags(point))


def _mounts_under(target: str) -> list[str]:
    found = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = _unescape(line.split()[4])
            if point == target or point.startswith(target.rstrip("/") + "/"):
                found.append(point)
    return found


def _unescape(text: str) -> str:
    """Mount points in mountinfo escape space, tab, newline and backslash as octal."""
    out, index = [], 0
    while index < len(text):
        if text[index] == "\\" and text[index + 1 : index + 4].isdigit():
            out.append(chr(int(text[index + 1 : index + 4], 8)))
            index += 4
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _etc_files(root: str, home: str) -> None:
    """An /etc/passwd and /etc/group naming only the sandbox user (the host's users stay hidden)."""
    os.makedirs(root + "/etc", exist_ok=True)
    _write(root + "/etc/passwd", f"sandbox:x:{SANDBOX_UID}:{SANDBOX_GID}:sandbox:{home}:/bin/sh\n")
    _write(root + "/etc/group", f"sandbox:x:{SANDBOX_GID}:\n")


def build_root(
    staging: str,
    workdir: str,
    read_only: list[str],
    hidden_homes: list[str],
    disk_bytes: int,
    inodes: int,
) -> None:
    """Assemble the new root at ``staging`` (an empty directory) and pivot into it.

    ``workdir`` is a host folder whose files are copied into the writable
    tmpfs that takes its place; the host folder itself is never written.
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,nr_inodes=4096,mode=0755")
    for path in [*SYSTEM_PATHS, *read_only]:
        _bind_read_only(staging, path)
    for home in hidden_homes:  # present and empty: a program looking for ~/.ssh finds nothing
        with contextlib.suppress(OSError):  # under a read-only bind: nothing to hide there
            os.makedirs(staging + home, exist_ok=True)
    _etc_files(staging, workdir)
    work = _make_target(staging, workdir, True)
    _mount(
        "tmpfs",
        work,
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"size={max(disk_bytes, 4096)},nr_inodes={max(inodes, 64)},mode=0700",
    )
    shutil.copytree(workdir, work, dirs_exist_ok=True, symlinks=True)
    dev = _make_target(staging, "/dev", True)
    for name in DEVICES:
        _mount(f"/dev/{name}", _make_target(staging, f"/dev/{name}", False), None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "0"), ("stdout", "1"), ("stderr", "2")):
        os.symlink(target if name == "fd" else f"/proc/self/fd/{target}", f"{dev}/{name}")
    # /proc must be mounted while the host's /proc is still visible (the kernel
    # refuses a new proc in a user namespace that cannot see a full one).
    _mount("proc", _make_target(staging, "/proc", True), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # No nested user namespaces: the program cannot unshare again.
    _write(staging + "/proc/sys/user/max_user_namespaces", "0")
    _mount(None, staging, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _pivot(staging)
    os.chdir(workdir)


def _pivot(staging: str) -> None:
    os.chdir(staging)
    number = _SYS_PIVOT_ROOT.get(platform.machine().lower())
    libc = _libc()
    if number is not None and libc.syscall(number, b".", b".") == 0:
        # The old root is stacked under the new one; detach it for good.
        _check(libc.umount2(b".", MNT_DETACH), "detach the old root")
    else:
        _check(libc.chroot(b"."), "chroot")
    os.chdir("/")


def before_exec() -> None:
    """Last steps in the program's process: die with the launcher, gain no privileges by exec."""
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
