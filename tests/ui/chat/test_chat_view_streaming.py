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
        lambda: "value_599" in str(js(qtbot, window, "document.querySelector('#m1 .answer').textContent")),
        timeout=10_000,
    )
    view.append_answer(1, "```\n\nDone.")
    view.finish_reply(1)
    text = str(js(qtbot, window, "document.querySelector('#m1 .answer').textContent"))
    assert "value_0 " in text and "value_599 " in text and text.rstrip().endswith("Done.")
    assert str(js(qtbot, window, "document.querySelector('#m1 .answer .tail').innerHTML")) == ""
    assert str(js(qtbot, window, "document.querySelector('#m1 .answer .held').innerHTML")) == ""


def test_a_long_paragraph_and_code_block_stream_as_held_pieces_and_end_as_the_whole_render(
    qtbot: QtBot, make_window: Callable[[], MainWindow]
) -> None:
    window = make_window()
    view = window.chat.view
    paragraph = "".join(f"Chat History: line {n}\n" for n in range(200))
    code = "```python\n" + "".join(f"value_{n} = {n}\n" for n in range(200))
    text = paragraph + "\n" + code + "```\n\nDone."
    view.start_reply(1)
    for start in range(0, len(paragraph) + 1 + len(code), 40):
        view.append_answer(1, text[start : min(start + 40, len(paragraph) + 1 + len(code))])
        if start == len(paragraph) // 80 * 40:  # halfway through the paragraph
            qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('#m1 .held > p').length") != 0)
    # The code block is still open: the last render (put off, then flushed) holds most of it as a piece.
    qtbot.waitUntil(lambda: "value_199" in str(js(qtbot, window, "document.querySelector('#m1 .answer').textContent")))
    assert js(qtbot, window, "document.querySelectorAll('#m1 .held > .code-block.split').length") != 0
    visible = js(
        qtbot,
        window,
        "Array.from(document.querySelectorAll('#m1 .code-toolbar')).filter(e => e.offsetParent !== null).length",
    )
    assert visible == 1  # one box: the pieces that go on from above show no toolbar of their own
    view.append_answer(1, text[len(paragraph) + 1 + len(code) :])
    view.finish_reply(1)
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelector('#m1 .answer .held').innerHTML") == "")
    shown = str(js(qtbot, window, "document.querySelector('#m1 .answer .stable').innerHTML"))
    assert shown == view.render_static(text)
