"""The window's one background-task helper: result, error, cancel, progress, shutdown."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from app.core.errors import QuillpadError
from app.core.plugins.background import Cancelled
from app.ui.tasks import TaskRunner, TaskToken, failure_text


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    runner = TaskRunner()
    yield runner
    runner.shutdown()
    assert runner.active_threads() == 0


def test_result_arrives_on_the_gui_thread_from_another(qtbot: QtBot, runner: TaskRunner) -> None:
    gui = threading.get_ident()
    ran_on: list[int] = []
    got: list[tuple[int, int]] = []

    def work(token: TaskToken) -> int:
        ran_on.append(threading.get_ident())
        return 42

    task = runner.submit(work, on_result=lambda value: got.append((value, threading.get_ident())))
    assert runner.busy and task.pending
    qtbot.waitUntil(lambda: bool(got))
    assert got == [(42, gui)]
    assert ran_on and ran_on[0] != gui
    assert not runner.busy and not task.pending


def test_an_error_arrives_as_the_exception(qtbot: QtBot, runner: TaskRunner) -> None:
    errors: list[BaseException] = []
    results: list[object] = []

    def refuse(token: TaskToken) -> None:
        raise QuillpadError("That file is gone; open another.")

    def crash(token: TaskToken) -> None:
        raise ZeroDivisionError("division by zero")

    runner.submit(refuse, on_result=results.append, on_error=errors.append)
    runner.submit(crash, on_result=results.append, on_error=errors.append)
    qtbot.waitUntil(lambda: len(errors) == 2)
    assert results == []
    assert failure_text(errors[0], "Reading") == "That file is gone; open another."
    assert failure_text(errors[1], "Reading the status") == (
        "Reading the status failed (division by zero); see the log file."
    )


def test_one_thread_reports_in_submission_order(qtbot: QtBot, runner: TaskRunner) -> None:
    got: list[int] = []
    for n in range(20):
        runner.submit(lambda token, n=n: n, on_result=got.append)
    qtbot.waitUntil(lambda: len(got) == 20)
    assert got == list(range(20))


def test_cancel_a_running_task(qtbot: QtBot, runner: TaskRunner) -> None:
    started = threading.Event()
    hooked: list[str] = []
    outcome: list[str] = []

    def work(token: TaskToken) -> str:
        token.on_cancel(lambda: hooked.append("hook"))
        started.set()
        token.wait(30)  # wakes at once on cancel
        token.check()
        return "finished"

    task = runner.submit(
        work,
        on_result=outcome.append,
        on_error=lambda err: outcome.append(f"error {err}"),
        on_cancelled=lambda: outcome.append("cancelled"),
    )
    assert started.wait(10)
    task.cancel()
    assert hooked == ["hook"]  # on the cancelling thread, at once
    qtbot.waitUntil(lambda: bool(outcome))
    assert outcome == ["cancelled"]


def test_a_cancelled_queued_task_never_runs(qtbot: QtBot, runner: TaskRunner) -> None:
    release = threading.Event()
    ran: list[str] = []
    outcome: list[str] = []
    first = runner.submit(lambda token: release.wait(30), on_result=lambda _: outcome.append("first"))
    second = runner.submit(lambda token: ran.append("second"), on_cancelled=lambda: outcome.append("second cancelled"))
    second.cancel()
    release.set()
    qtbot.waitUntil(lambda: len(outcome) == 2)
    assert outcome == ["first", "second cancelled"]
    assert ran == [] and not first.pending


def test_a_hook_added_after_cancel_runs_at_once() -> None:
    token = TaskToken(lambda value: None)
    token.cancel()
    called: list[bool] = []
    token.on_cancel(lambda: called.append(True))
    assert called == [True]
    with pytest.raises(Cancelled):
        token.check()


def test_progress_arrives_in_order_before_the_result(qtbot: QtBot, runner: TaskRunner) -> None:
    seen: list[object] = []

    def work(token: TaskToken) -> str:
        for n in range(5):
            token.report(n)
        return "done"

    runner.submit(work, on_progress=seen.append, on_result=seen.append)
    qtbot.waitUntil(lambda: "done" in seen)
    assert seen == [0, 1, 2, 3, 4, "done"]


def test_shutdown_drops_the_queued_waits_for_the_running_and_delivers_nothing(qtbot: QtBot) -> None:
    runner = TaskRunner()
    started = threading.Event()
    delivered: list[str] = []
    ran: list[str] = []

    def slow(token: TaskToken) -> str:
        started.set()
        token.wait(30)
        ran.append("slow")
        return "slow"

    runner.submit(slow, on_result=delivered.append, on_cancelled=lambda: delivered.append("cancelled"))
    runner.submit(lambda token: ran.append("queued"), on_cancelled=lambda: delivered.append("queued cancelled"))
    assert started.wait(10)
    runner.shutdown()
    assert ran == ["slow"]  # the running one saw the cancel and ended; the queued one never started
    assert runner.active_threads() == 0 and not runner.busy
    late = runner.submit(lambda token: ran.append("late"), on_result=delivered.append)
    qtbot.wait(50)
    assert delivered == [] and ran == ["slow"] and not late.pending


def test_a_failing_callback_is_logged_not_raised(
    qtbot: QtBot, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    after: list[int] = []

    def bad_callback(value: int) -> None:
        raise RuntimeError("bug in a callback")

    runner.submit(lambda token: 1, on_result=bad_callback)
    runner.submit(lambda token: 2, on_result=after.append)
    qtbot.waitUntil(lambda: after == [2])
    assert "a background task's callback failed" in caplog.text
