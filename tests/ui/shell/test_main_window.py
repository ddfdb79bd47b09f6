"""The main window offscreen: welcome page, model loading, streaming into the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from app.core.sandbox.namespaces import SIMULATE_ENV
from app.ui.shell.main_window import MainWindow
from tests.fixtures.malformed_gguf import small_valid_bytes
from tests.fixtures.tiny_gguf import QWEN3_CHAT_TEMPLATE, TinySpec, write_tiny_model
from tests.ui.conftest import js, load_model

MakeWindow = Callable[[], MainWindow]


def test_first_start_shows_the_welcome_page(make_window: MakeWindow) -> None:
    window = make_window()
    assert window.centre.currentWidget() is window.welcome
    text = window.welcome.text.text()
    assert "Open a GGUF file" in text and "Download" in text and "starter model" in text
    assert window.model_label.text() == "No model"
    assert not window.chat.model_ready


def test_message_without_model_is_kept(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.chat.input.setPlainText("hello?")
    window.chat.send()
    assert window.chat.input.toPlainText() == "hello?"
    qtbot.waitUntil(lambda: "No model is loaded" in str(js(qtbot, window, "document.body.innerText")))


def test_streamed_reply_reaches_the_page_and_the_store(make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    assert window.model_label.text() == "Tiny Qwen3"
    window.chat.request_overrides = {"max_tokens": 30, "seed": 3}
    window.chat.ask("hello world")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert window.chat.conversation_id is not None
    messages = window.chat.store.messages(window.chat.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    answer = messages[-1]
    assert answer.content and answer.complete
    page_text = js(qtbot, window, "document.querySelector('.msg.assistant .answer').innerText")
    assert isinstance(page_text, str) and page_text.strip()[:5] in answer.content
    assert "tok/s" in window.speed_label.text()


def test_a_local_reply_holds_the_code_reference_update(
    make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    held: list[tuple[bool, bool]] = []  # (busy, update held) each time the chat's busy state changes
    window.chat.busyChanged.connect(lambda busy: held.append((busy, window.refs.pause_event.is_set())))
    window.chat.request_overrides = {"max_tokens": 8, "seed": 3}
    window.chat.ask("hello world")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert held[0] == (True, True) and held[-1] == (False, False)
    # Replies from a model server take no CPU here: indexing goes on beside them.
    monkeypatch.setattr(type(window.remote), "active", property(lambda _self: True))
    window.chat.busyChanged.emit(True)
    assert held[-1] == (True, False)
    window.chat.busyChanged.emit(False)


def test_thinking_streams_into_a_collapsible_section(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    template = QWEN3_CHAT_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' -}}", "{{- '<|im_start|>assistant\\n<think>\\n' -}}"
    )
    model = write_tiny_model(tmp_path / "thinks.gguf", TinySpec(chat_template=template))
    window = make_window()
    load_model(qtbot, window, model)
    window.chat.request_overrides = {"max_tokens": 20, "seed": 5}
    window.chat.ask("think about this")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    hidden = js(qtbot, window, "document.querySelector('.msg.assistant details.thinking').hidden")
    text = js(qtbot, window, "document.querySelector('.msg.assistant details.thinking').textContent")
    assert hidden is False and isinstance(text, str) and len(text) > len("Thought")


def test_stop_mid_stream_keeps_the_partial_reply(make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    window.chat.request_overrides = {"ignore_eos": True, "seed": 1}
    window.chat.ask("go on forever")
    message_id = window.chat._reply.message_id  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(window.chat._reply and window.chat._reply.answer), timeout=30_000)
    window.chat.stop()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    stored = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert stored.id == message_id and stored.content and not stored.complete
    note = js(qtbot, window, f"document.querySelector('#m{message_id} .note').textContent")
    assert note == "Stopped."
    assert window.chat.send_button.isEnabled()


def test_math_is_rendered_as_mathml(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.chat.view.add_assistant_message(7, "The area is $\\pi r^2$ and\n\n$$\\int_0^1 x\\,dx = \\frac{1}{2}$$")
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('#m7 math').length") == 2)
    display = js(qtbot, window, "document.querySelector('#m7 math[display=\"block\"]') !== null")
    assert display is True


def test_code_block_insert_goes_to_the_editor(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.new_file()
    window.chat.view.add_assistant_message(8, "Here:\n\n```python\nprint('hi')\n```\n")
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('#m8 a.code-action').length") == 4)
    js(qtbot, window, "document.querySelector('#m8 a.code-action[href*=\"/insert/\"]').click(); true")
    editor = window.tabs.current_editor()
    assert editor is not None
    qtbot.waitUntil(lambda: "print('hi')" in editor.toPlainText(), timeout=10_000)


def _drop(window: MainWindow, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    window.dropEvent(event)


def test_dropping_a_gguf_shows_its_facts_then_loads(make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path) -> None:
    window = make_window()
    _drop(window, qwen3_gguf)
    qtbot.waitUntil(lambda: window.banner.load_button.isVisible(), timeout=30_000)
    facts = window.banner.text.text()
    assert "Tiny Qwen3" in facts and "Q8_0" in facts and "memory" in facts
    window.banner.load_button.click()
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=60_000)
    assert window.settings.recent_models[0] == str(qwen3_gguf)


def test_refused_model_is_a_readable_message(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(small_valid_bytes()[:300])
    window = make_window()
    _drop(window, broken)
    qtbot.waitUntil(lambda: "broken.gguf" in window.banner.text.text(), timeout=30_000)
    qtbot.waitUntil(lambda: "damaged" in window.banner.text.text() or "truncated" in window.banner.text.text())
    assert "Traceback" not in window.banner.text.text()
    assert not window.chat.model_ready


def test_engine_crash_offers_restart(make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path) -> None:
    import os
    import signal

    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    window.chat.request_overrides = {"ignore_eos": True, "seed": 1}
    window.new_file()
    window.tabs.insert_at_cursor("unsaved work")
    window.chat.ask("keep going")
    qtbot.waitUntil(lambda: bool(window.chat._reply and window.chat._reply.answer), timeout=30_000)
    os.kill(window.bridge.engine.worker_pid, signal.SIGKILL)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: window.banner.restart_button.isVisible(), timeout=30_000)
    assert "SIGKILL" in window.banner.text.text()
    stored = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert stored.content  # the partial reply survived
    assert window.tabs.current_editor().toPlainText() == "unsaved work"  # type: ignore[union-attr]
    window.banner.restart_button.click()
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=60_000)


def test_attached_file_goes_with_the_message(
    make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path, tmp_path: Path
) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    assert window.open_path(str(source))
    window.chat.attach_button.click()
    assert [item.label for item in window.chat.chips.items()] == ["calc.py"]
    window.chat.request_overrides = {"max_tokens": 4}
    window.chat.ask("What does this do?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    stored = window.chat.store.messages(window.chat.conversation_id)[0]  # type: ignore[arg-type]
    assert stored.content == "What does this do?"  # the typed text alone
    assert [(a.label, a.text) for a in stored.attachments] == [("calc.py", "def add(a, b):\n    return a + b\n")]
    assert not window.chat.chips.items()  # chips are for one message


def test_layout_and_theme_survive_a_restart(make_window: MakeWindow) -> None:
    window = make_window()
    window.chat_dock.hide()
    window.set_theme("dark")
    window.close()
    again = make_window()
    assert again.settings.ui.theme == "dark" and again.dark
    assert again.chat_dock.isHidden()


def test_run_button_runs_python_in_the_sandbox(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.chat.view.add_assistant_message(9, "Try:\n\n```python\nprint(6 * 7)\n```\n")
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('#m9 a.code-action').length") == 4)
    with qtbot.waitSignal(window.chat.codeRan, timeout=60_000) as ran:
        js(qtbot, window, "document.querySelector('#m9 a.code-action[href*=\"/run/\"]').click(); true")
    assert "exited with code 0" in ran.args[0] and "42" in ran.args[0]
    assert "Isolated (Linux namespaces)" in ran.args[0]  # every run says how it was isolated
    qtbot.waitUntil(lambda: "42" in str(js(qtbot, window, "document.querySelector('.msg.output').innerText")))


def test_without_isolation_the_user_is_told_once_and_chooses(
    make_window: MakeWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SIMULATE_ENV, "1")  # as where user namespaces are disabled
    window = make_window()
    asked: list[str] = []
    answers = [False, True]

    def answer(parent: object, notice: str) -> bool:
        asked.append(notice)
        return answers.pop(0)

    window.chat.confirm_limits_only = answer
    with qtbot.waitSignal(window.chat.codeRan, timeout=60_000) as declined:
        window.chat.run_code("print(6 * 7)")
    assert declined.args[0].startswith("Not run: This system does not let Quillpad isolate code")
    assert "could read your files and use the network" in asked[0]
    with qtbot.waitSignal(window.chat.codeRan, timeout=60_000) as ran:
        window.chat.run_code("print(6 * 7)")
    assert "42" in ran.args[0] and "Limits only" in ran.args[0] and "Not isolated" in ran.args[0]
    with qtbot.waitSignal(window.chat.codeRan, timeout=60_000) as again:
        window.chat.run_code("print(7 * 7)")
    assert "49" in again.args[0] and len(asked) == 2  # agreed for the session: not asked again


def test_risky_code_is_flagged_before_it_runs(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    asked: list[list[str]] = []

    def decline(parent: object, findings: list[str]) -> bool:
        asked.append(findings)
        return False

    window.chat.confirm_risky_run = decline
    window.chat.run_code("import os\nos.system('rm -rf ~')\n")
    assert asked and any("line 2" in finding for finding in asked[0])
    qtbot.waitUntil(lambda: "Not run" in str(js(qtbot, window, "document.body.innerText")))
