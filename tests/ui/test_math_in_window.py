"""/check in the real window: the chat shows each step's mark, the counter-example and the answer badge as MathML."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow
from tests.ui.conftest import js

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
    assert "✗ wrong" in text and "✓ verified" in text and "given" in text
    assert float(str(js(qtbot, window, "document.querySelectorAll('math').length"))) >= 4
    window.grab().save(str(tmp_path / "math.png"))
    assert (tmp_path / "math.png").stat().st_size > 0
