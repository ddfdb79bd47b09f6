"""Running as the frozen desktop binary (PyInstaller) instead of from a Python install.

A frozen Quillpad has no Python interpreter: ``sys.executable`` is the
``quillpad`` binary itself. The app's own helper processes still work (the
spawned engine worker and llama probe go through ``multiprocessing``'s frozen
support; the sandbox launcher is a hidden mode of the binary), but code the
*user* runs (sandboxed snippets, a project's tests) needs a real Python, which
is then looked up on PATH.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping

# argv[1] of the binary when it is started as the sandbox launcher (never typed by users).
SANDBOX_LAUNCHER_ARG = "--quillpad-sandbox-launcher"
_LIBRARY_PATH = "LD_LIBRARY_PATH"


def is_frozen() -> bool:
    """True inside the PyInstaller-built binary."""
    return bool(getattr(sys, "frozen", False))


def system_python() -> str | None:
    """A Python 3 interpreter on PATH, or None."""
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return found
    return None


def user_code_python() -> str | None:
    """The interpreter for code the user runs: this one when installed, else one on PATH (None if none)."""
    return sys.executable if not is_frozen() else system_python()


def external_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for programs that are not part of Quillpad (a project's Python).

    The binary's bootloader and runtime hooks add variables meant for the
    binary alone: ``_PYI_*`` bookkeeping, ``QT_PLUGIN_PATH`` and
    ``QML2_IMPORT_PATH`` into the bundle (a project's own Qt tests would load
    our Qt plugins), and possibly ``LD_LIBRARY_PATH`` (the user's value kept in
    ``LD_LIBRARY_PATH_ORIG``). Those are taken out again.
    """
    env = dict(os.environ if base is None else base)
    if not is_frozen():
        return env
    bundle = str(getattr(sys, "_MEIPASS", os.path.dirname(sys.executable)))
    for key, value in list(env.items()):
        if key.startswith("_PYI_") or (key != "PATH" and value.startswith(bundle)):
            del env[key]
    original = env.pop(_LIBRARY_PATH + "_ORIG", None)
    if original is not None:
        env[_LIBRARY_PATH] = original
    return env
