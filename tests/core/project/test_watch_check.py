"""The self-test's check of file watching, with the real mechanisms and with ones that fail."""

from __future__ import annotations

import sys

from app.core.project.watch_check import check_watching
from app.core.project.watch_mechanisms import native_mechanism, polling_mechanism
from tests.fixtures.watch_mechanisms import silent_inotify, unsupported


def test_watching_works_here_with_the_preferred_mechanism() -> None:
    result = check_watching()
    assert result.ok, result.detail
    preferred = "inotify" if sys.platform.startswith("linux") else "native"
    assert result.detail.startswith(f"{preferred} (probe event after ")
    assert "a new file queued for the index after" in result.detail and " after " not in result.detail.split(")")[1]


def test_a_silent_mechanism_fails_the_check_even_though_a_fallback_works() -> None:
    result = check_watching(mechanisms=[silent_inotify, native_mechanism, polling_mechanism])
    assert not result.ok
    assert result.detail.startswith("native (probe event after ")
    assert result.detail.endswith(" after inotify delivered no event within 1 s")


def test_a_machine_without_inotify_passes_with_polling_and_says_why() -> None:
    mechanisms = [
        unsupported("inotify", "Quillpad's inotify watcher"),
        unsupported("native", "watchdog's standard observer"),
        polling_mechanism,
    ]
    result = check_watching(mechanisms=mechanisms)
    assert result.ok, result.detail
    assert result.detail.startswith("polling (a new file queued for the index after ")
    assert "inotify could not start (Operation not supported on this file system)" in result.detail
