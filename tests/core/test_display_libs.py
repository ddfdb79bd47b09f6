"""Issue 26 problem 1: the X11 libraries Qt's xcb plugin needs are checked before Qt loads it."""

from __future__ import annotations

import ctypes.util

import pytest

from app.core.display_libs import (
    XCB_LIBRARIES,
    DisplayLibrariesMissing,
    can_load,
    check_display_libraries,
    missing_libraries,
    would_use_xcb,
)

X11 = {"DISPLAY": ":0"}


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        (X11, "linux", True),
        ({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({**X11, "QT_QPA_PLATFORM": "wayland;xcb"}, "linux", False),
        ({**X11, "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"QT_QPA_PLATFORM": "xcb:nograb"}, "linux", True),
        ({**X11, "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux", False),
        ({**X11, "WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "x11"}, "linux", True),
        ({}, "linux", False),  # no display: the app draws offscreen
        (X11, "darwin", False),
        (X11, "win32", False),
    ],
)
def test_only_where_qt_would_pick_xcb(env: dict[str, str], platform: str, expected: bool) -> None:
    assert would_use_xcb(env, platform) is expected


def test_the_sentence_names_the_missing_libraries_and_both_install_commands() -> None:
    absent = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    with pytest.raises(DisplayLibrariesMissing) as caught:
        check_display_libraries(X11, "linux", loader=lambda soname: soname not in absent)
    text = str(caught.value)
    assert text.count(". ") == 0 and text.endswith(".") and "\n" not in text  # one sentence
    assert "(libxcb-icccm.so.4, libxcb-keysyms.so.1)" in text
    assert "`sudo apt install libxcb-icccm4 libxcb-keysyms1` on Debian/Ubuntu" in text
    assert "`sudo dnf install xcb-util-wm xcb-util-keysyms` on Fedora" in text


def test_nothing_is_said_when_everything_loads_or_xcb_is_not_used() -> None:
    check_display_libraries(X11, "linux", loader=lambda soname: True)
    check_display_libraries({**X11, "QT_QPA_PLATFORM": "offscreen"}, "linux", loader=lambda soname: False)


def test_fedora_packages_are_named_once_each() -> None:
    with pytest.raises(DisplayLibrariesMissing) as caught:
        check_display_libraries(X11, "linux", loader=lambda soname: not soname.startswith("libxcb-s"))
    assert "`sudo dnf install libxcb` on Fedora" in str(caught.value)  # shape, shm, sync: one package


def test_the_real_loader_opens_what_the_dynamic_loader_finds() -> None:
    libc = ctypes.util.find_library("c")
    assert libc and can_load(libc)
    assert not can_load("libquillpad-no-such-library.so.7")
    assert missing_libraries([XCB_LIBRARIES[0]], loader=lambda soname: False) == [XCB_LIBRARIES[0]]
