"""The chat view while a reply streams: a long block renders less often, and nothing stays unshown."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import js


def test_text_put_off_while_a_long_code_block_streams_is_shown_without_more_pieces(
    qtbot: QtBot, make_window: Callable[[], MainWindow]
) -> None:
    window = make_window()
    view = window.chat.view
    view.start_reply(1)
    lines = [f"value_{n} = compute({n}, 'some text')  # line {n}\n" for n in range(600)]
    view.append_answer(1, "```python\n")
    for line in lines:  # far faster than a model: most renders are put off
        view.append_answer(1, line)
    # No further piece and no finish: the flush timer still shows the last line.
    qtbot.waitUntil(
        lambda: "value_599" in str(js(qtbot, window, "document.querySelector('#m1 .answer .tail').textContent")),
        timeout=10_000,
    )
    view.append_answer(1, "```\n\nDone.")
    view.finish_reply(1)
    text = str(js(qtbot, window, "document.querySelector('#m1 .answer').textContent"))
    assert "value_0 " in text and "value_599 " in text and text.rstrip().endswith("Done.")
    assert str(js(qtbot, window, "document.querySelector('#m1 .answer .tail').innerHTML")) == ""
