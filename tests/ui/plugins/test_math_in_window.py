"""/check in the real window: the chat shows each step's mark, the counter-example and the answer badge as
MathML; the check runs off the GUI thread, shows its progress, and Stop or closing the window ends it."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import js, load_model

WORKING = "/check Solve $2x + 3 = 7$.\n$2x = 10$\n$x = 5$\n$\\boxed{x = 5}$"


def test_check_shows_marks_and_badge_in_the_chat(
    qtbot: QtBot, make_window: Callable[[], MainWindow], tmp_path: Path
) -> None:
    window = make_window()
    assert window.plugins.handle_chat_text(WORKING)

    def shown() -> str:
        return str(js(qtbot, window, "document.body.innerText"))

    qtbot.waitUntil(lambda: "answer wrong" in shown(), timeout=30_000)
    text = shown()
    assert "✗ wrong" in text and "given" in text
    # Issue 21: a step resting on a wrong one shows no tick; it says which wrong step it follows from.
    assert "↳ follows from a wrong step" in text and "follows from step 2, which is wrong" in text
    assert "✓ verified" not in text
    assert float(str(js(qtbot, window, "document.querySelectorAll('math').length"))) >= 4
    window.grab().save(str(tmp_path / "math.png"))
    assert (tmp_path / "math.png").stat().st_size > 0


def test_check_runs_off_the_gui_thread_shows_progress_and_the_result(
    qtbot: QtBot, make_window: Callable[[], MainWindow], tmp_path: Path
) -> None:
    window = make_window()
    ticks: list[bool] = []  # at each tick of a GUI-thread timer: was the check still running?
    timer = QTimer(window)
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(window.plugins.working))
    timer.start()
    assert window.plugins.handle_chat_text(WORKING)
    # handle_chat_text returned while SymPy still works in the background.
    assert window.plugins.working and window.chat.stop_button.isEnabled()
    qtbot.waitUntil(lambda: "Checking 4 steps…" in str(js(qtbot, window, "document.body.innerText")))
    window.grab().save(str(tmp_path / "checking.png"))
    qtbot.waitUntil(lambda: not window.plugins.working, timeout=60_000)
    timer.stop()
    assert sum(ticks) >= 3  # the GUI thread kept serving its timer during the check
    text = str(js(qtbot, window, "document.body.innerText"))
    assert "answer wrong" in text and "Checking 4 steps…" not in text


def test_stop_ends_a_check_and_its_worker_process(qtbot: QtBot, make_window: Callable[[], MainWindow]) -> None:
    window = make_window()
    assert window.plugins.handle_chat_text(WORKING)
    window.chat.stop_button.click()
    qtbot.waitUntil(lambda: not window.plugins.working, timeout=30_000)
    qtbot.waitUntil(lambda: "Stopped." in str(js(qtbot, window, "document.body.innerText")))
    assert "answer wrong" not in str(js(qtbot, window, "document.body.innerText"))
    assert multiprocessing.active_children() == []


def test_closing_the_window_mid_check_leaves_nothing_running(make_window: Callable[[], MainWindow]) -> None:
    window = make_window()
    assert window.plugins.handle_chat_text(WORKING)
    window.close()
    assert not window.plugins.working
    assert multiprocessing.active_children() == []


def test_steps_with_a_real_model_streams_then_checks_in_the_background(
    qtbot: QtBot, make_window: Callable[[], MainWindow], qwen3_gguf: Path
) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    window.plugins.manager.context_for("math").settings.set("max_tokens", 24)
    assert window.plugins.handle_chat_text("/steps Solve $2x + 3 = 7$")
    # The random-weight model's reply streams, then its steps are checked off the GUI thread.
    qtbot.waitUntil(
        lambda: "Steps checked by SymPy" in str(js(qtbot, window, "document.body.innerText")), timeout=120_000
    )
    assert not window.plugins.working and not window.chat.busy
