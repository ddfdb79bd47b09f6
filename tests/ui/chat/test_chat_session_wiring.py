"""The chat panel's wiring to the core ChatSession (the flow itself is tested without Qt in tests/core/chat)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.conversations import ATTACHMENT_MARKER, Attachment
from app.core.engine import ChatMessage, ChatRequest, Done, EngineEvent
from app.core.engine.events import AnswerText
from app.core.engine.owner import EngineOwner, ReplyStream
from app.ui.shell.main_window import MainWindow
from tests.ui.conftest import js, load_model

MakeWindow = Callable[[], MainWindow]


def _recorded(owner: EngineOwner, monkeypatch: pytest.MonkeyPatch) -> list[ChatRequest]:
    requests: list[ChatRequest] = []
    chat = owner.chat

    def recording(request: ChatRequest, purpose: str = "chat", request_id: int | None = None) -> ReplyStream:
        requests.append(request)
        return chat(request, purpose, request_id)

    monkeypatch.setattr(owner, "chat", recording)
    return requests


def test_a_third_party_plugins_system_prompt_and_context_reach_the_model_in_the_window(
    sample_installed: None, make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    assert window.plugins.manager.record("sample").state == "enabled"
    load_model(qtbot, window, qwen3_gguf)
    requests = _recorded(window.bridge.owner, monkeypatch)
    window.chat.request_overrides = {"max_tokens": 4}
    window.chat.thinking.setChecked(False)  # the Think box decides the reply's thinking
    window.chat.ask("hello")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert requests[-1].thinking is False and requests[-1].max_tokens == 4
    prompt = window.bridge.owner.render(requests[-1]).text  # exactly what the engine evaluated
    assert "Answer like a sample." in prompt.split("<|im_end|>")[0]
    assert "Sample (sample):\n```\ncontext for hello\n```" in prompt
    stored = window.chat.store.messages(window.chat.conversation_id)[0]  # type: ignore[arg-type]
    assert stored.content == "hello" and [a.label for a in stored.attachments] == ["Sample (sample)"]


def test_reopening_a_conversation_shows_the_chips_its_messages_were_sent_with(
    make_window: MakeWindow, qtbot: QtBot
) -> None:
    window = make_window()
    store = window.chat.store
    chat = store.create("Helper")
    sent = (Attachment("file", "util.py", "def helper(x):\n    return x * 2", "python"),)
    store.add_message(chat, "user", "What does this do?", attachments=sent)
    store.add_message(chat, "assistant", "It doubles x.")
    window.chat.open_conversation(chat)
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('.msg').length") == 2)
    chips = js(
        qtbot, window, "Array.from(document.querySelectorAll('.msg.user .chip')).map(c => c.textContent).join('|')"
    )
    assert chips == "util.py"
    shown = str(js(qtbot, window, "document.querySelector('.msg.user p.plain').textContent"))
    assert shown == "What does this do?" and ATTACHMENT_MARKER.strip() not in shown
    # Editing the last message brings its text and its chips back.
    window.chat.edit_last()
    assert window.chat.input.toPlainText() == "What does this do?"
    assert window.chat.chips.items() == list(sent)


def test_stop_in_the_chat_ends_only_the_chat_reply_not_a_commit_message(
    make_window: MakeWindow, qtbot: QtBot, qwen3_gguf: Path
) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    owner = window.bridge.owner
    # A commit message being written on a pool thread, through the same owner as the chat.
    request = ChatRequest(
        (ChatMessage("user", "Write a commit message"),), thinking=False, max_tokens=48, seed=1, ignore_eos=True
    )
    commit = owner.chat(request, "commit message")
    first = next(e for e in commit if isinstance(e, AnswerText))
    assert first.text is not None
    window.chat.request_overrides = {"max_tokens": 400, "ignore_eos": True}
    window.chat.ask("hello")  # queued behind the commit message: its position is shown
    qtbot.waitUntil(lambda: owner.waiting() == 2, timeout=30_000)
    qtbot.waitUntil(
        lambda: "Waiting for the model: 1 request is ahead" in str(js(qtbot, window, "document.body.innerText"))
    )
    window.chat.stop_button.click()
    rest: list[EngineEvent] = []
    finisher = threading.Thread(target=lambda: rest.extend(commit), name="commit-message")
    finisher.start()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    finisher.join(30)
    final = rest[-1]
    assert isinstance(final, Done) and final.reason == "length" and final.answer  # the commit message completed
    stored = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert stored.role == "assistant" and not stored.complete and (stored.stats or {}).get("stopped") == 1
