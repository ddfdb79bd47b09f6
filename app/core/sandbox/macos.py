"""The macOS ``sandbox-exec`` profile: no network, no files outside the work folder.

``sandbox-exec`` is deprecated by Apple but still shipped and used (by Bazel,
among others); it is the only way to confine a process on macOS without a
signed app. The profile denies everything by default, then allows running
programs, reading the system and the interpreter's folders, and writing the
work folder alone. File metadata (names, sizes) stays readable, because the
dynamic loader and Python walk every parent folder of their own paths;
contents of the user's files are not.
"""

from __future__ import annotations

from collections.abc import Sequence

SANDBOX_EXEC = "/usr/bin/sandbox-exec"
# Where macOS keeps what any program needs to start.
SYSTEM_READABLE = (
    "/usr",
    "/bin",
    "/sbin",
    "/System",
    "/Library/Frameworks",
    "/Library/Developer/CommandLineTools",
    "/private/var/db/dyld",
    "/private/var/db/timezone",
    "/private/etc/localtime",
    "/opt/homebrew",
    "/usr/local",
)
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/dtracehelper")


def _quote(path: str) -> str:
    """A path as a profile string literal (SBPL follows Scheme's escapes)."""
    return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'


def macos_profile(workdir: str, readable: Sequence[str], network: bool = False) -> str:
    """The profile text for a run in ``workdir`` that may also read ``readable`` folders (and use the network)."""
    read_rules = "\n".join(f"    (subpath {_quote(path)})" for path in [*SYSTEM_READABLE, *readable])
    devices = "\n".join(f"    (literal {_quote(path)})" for path in DEVICES)
    work = _quote(workdir)
    return f"""(version 1)
(deny default)
(allow process-fork)
(allow process-exec)
(allow signal (target same-sandbox))
(allow sysctl-read)
(allow file-read-metadata)
(allow file-read*
{read_rules}
    (subpath {work}))
(allow file-read* file-write-data
{devices})
(allow file-write* (subpath {work}))
({"allow" if network else "deny"} network*)
"""
