"""The plugin API's cancel token hooks, and a panel's background work without a window."""

from __future__ import annotations

import threading

import pytest

from app.api import CancelToken, PluginContext, QuillpadError
from app.core.plugins.context import PluginHost
from app.core.plugins.state import PluginStateStore


def test_cancel_runs_each_hook_once_even_when_one_fails() -> None:
    token = CancelToken()
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("a bug in a hook")

    token.on_cancel(broken)
    token.on_cancel(lambda: calls.append("stop the run"))
    token.cancel()
    token.cancel()
    assert calls == ["broken", "stop the run"]
    token.on_cancel(lambda: calls.append("late"))  # already cancelled: at once
    assert calls[-1] == "late" and token.cancelled


def test_a_hook_stops_work_blocked_elsewhere() -> None:
    token = CancelToken()
    stopped = threading.Event()
    token.on_cancel(stopped.set)
    worker = threading.Thread(target=token.cancel)
    worker.start()
    worker.join(10)
    assert stopped.wait(10)


def _context() -> PluginContext:
    return PluginContext("sample", PluginHost(), PluginStateStore(None).section("sample"))


def test_without_a_window_background_work_runs_inline() -> None:
    got: list[object] = []
    token = _context().run_in_background(lambda token: 6 * 7, got.append, lambda message: got.append(message))
    assert got == [42] and not token.cancelled


def test_without_a_window_a_refusal_is_its_sentence() -> None:
    got: list[str] = []

    def refuse(token: CancelToken) -> None:
        raise QuillpadError("Open a project folder first.")

    _context().run_in_background(refuse, lambda result: pytest.fail("no result expected"), got.append)
    assert got == ["Open a project folder first."]
