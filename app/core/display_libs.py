"""Are the system libraries of Qt's X11 (xcb) platform plugin present?

Qt loads its platform plugin when the QApplication is created; a missing
library then aborts the process with a message that names the wrong package
(it always mentions xcb-cursor) and a core dump. ``quillpad`` asks first: each
library the plugin (``libqxcb.so`` and ``libQt6XcbQpa.so.6``, as ``ldd``
lists them for PySide6 6.x) needs is opened with the dynamic loader, exactly
as Qt would find it (``LD_LIBRARY_PATH``, the ld.so cache, the default
folders), and the missing ones are named with the packages that carry them on
Debian/Ubuntu and Fedora.

The check only applies where Qt would really pick xcb: on Linux, with an X
display and no other platform chosen (``QT_QPA_PLATFORM=offscreen`` or
``wayland``, or a Wayland session, need none of these).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from app.core.errors import QuillpadError


@dataclass(frozen=True)
class SystemLibrary:
    """One shared library and the package that installs it on each family of distributions."""

    soname: str
    debian: str
    fedora: str


# What the xcb plugin links against beyond glibc and Qt itself (which PySide6 bundles).
XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb"),
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image"),
    SystemLibrary("libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil"),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb"),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon"),
    SystemLibrary("libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11"),
    SystemLibrary("libfontconfig.so.1", "libfontconfig1", "fontconfig"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx"),
    SystemLibrary("libEGL.so.1", "libegl1", "libglvnd-egl"),
    SystemLibrary("libdbus-1.so.3", "libdbus-1-3", "dbus-libs"),
)

Loader = Callable[[str], bool]


class DisplayLibrariesMissing(QuillpadError):
    """Qt's X11 platform plugin would abort: system libraries are missing."""


def can_load(soname: str) -> bool:
    """True if the dynamic loader finds and opens ``soname`` (what Qt's plugin will ask for)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return False
    return True


def would_use_xcb(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """True if Qt would load its xcb platform plugin in this environment."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:  # "xcb", "wayland;xcb", "offscreen": Qt tries the first one
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    if env.get("WAYLAND_DISPLAY") and env.get("XDG_SESSION_TYPE", "").lower() == "wayland":
        return False  # Qt 6 prefers its Wayland plugin in a Wayland session
    return bool(env.get("DISPLAY"))


def missing_libraries(
    libraries: Sequence[SystemLibrary] = XCB_LIBRARIES, loader: Loader = can_load
) -> list[SystemLibrary]:
    """The libraries the loader cannot open, in the table's order."""
    return [lib for lib in libraries if not loader(lib.soname)]


def _unique(names: Sequence[str]) -> str:
    return " ".join(dict.fromkeys(names))


def install_advice(missing: Sequence[SystemLibrary]) -> str:
    """One sentence naming the missing libraries and the commands that install them."""
    names = ", ".join(lib.soname for lib in missing)
    return (
        f"The window cannot start because the X11 libraries Qt needs are missing ({names}); install them with "
        f"`sudo apt install {_unique([lib.debian for lib in missing])}` on Debian/Ubuntu or "
        f"`sudo dnf install {_unique([lib.fedora for lib in missing])}` on Fedora, then run quillpad again."
    )


def check_display_libraries(env: Mapping[str, str], platform: str = sys.platform, loader: Loader = can_load) -> None:
    """Raise ``DisplayLibrariesMissing`` (one sentence) if Qt would use xcb and cannot load it."""
    if not would_use_xcb(env, platform):
        return
    missing = missing_libraries(loader=loader)
    if missing:
        raise DisplayLibrariesMissing(install_advice(missing))
