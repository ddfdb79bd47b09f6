"""The chat flow without Qt: compose, persist, request building, plugin prompts and context, stop,
regenerate, edit-last (the tiny real model answers)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app.api import ContextPiece, ContextProvider, ContextRequest, PluginInfo, SystemPrompt, hookimpl
from app.core.chat import Attachment, ChatSession
from app.core.conversations import ConversationStore
from app.core.engine import AnswerText, Done
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.settings import Settings
from tests.core.chat.conftest import RecordingOwner
from tests.fixtures.sample_plugin import forget_sample_modules, install_sample

INFO = PluginInfo(name="Helper", version="1.0", description="helps in tests")
FILE = Attachment("file", "util.py", "def helper(x):\n    return x * 2", "python")


def _run(session: ChatSession, text: str, attachments: tuple[Attachment, ...] = ()) -> Done:
    events = list(session.stream(session.send(text, attachments)))
    final = events[-1]
    assert isinstance(final, Done), final
    return final


def test_a_message_keeps_its_attachments_apart_from_its_text(
    session: ChatSession, store: ConversationStore, owner: RecordingOwner
) -> None:
    _run(session, "What does this do?", (FILE,))
    user, reply = session.messages()
    assert user.content == "What does this do?" and user.attachments == (FILE,)
    assert "return x * 2" not in user.content  # the stored user text never holds attachment text
    assert reply.role == "assistant" and reply.complete
    # The model read the attachment with the message.
    sent = owner.requests[-1].messages[-1].content
    assert sent.startswith("What does this do?") and "```python\ndef helper(x):" in sent
    # Reopened later: the chips it was sent with.
    again = ChatSession(store, owner, session.settings)
    assert again.open(session.conversation_id or 0)[0].attachments == (FILE,)


def test_requests_are_built_from_the_settings(session: ChatSession, owner: RecordingOwner, settings: Settings) -> None:
    settings.engine.sampling.temperature = 0.3
    _run(session, "Hi")
    request = owner.requests[-1]
    assert (request.thinking, request.seed, request.max_tokens) == (False, 7, 8)
    assert request.sampling.temperature == 0.3
    session.thinking = True  # the window's Think box
    list(session.stream(session.regenerate()))  # type: ignore[arg-type]
    assert owner.requests[-1].thinking is True


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plugins: PluginManager) -> PluginManager:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    install_sample(site)
    plugins.discover()
    yield plugins  # type: ignore[misc]
    forget_sample_modules()


def test_a_third_party_plugins_system_prompt_and_context_reach_the_model(
    session: ChatSession, owner: RecordingOwner, sample: PluginManager
) -> None:
    _run(session, "hello")
    prompt = owner.last_prompt()
    assert "<|im_start|>system\nAnswer like a sample.<|im_end|>" in prompt
    assert "Sample (sample):\n```\ncontext for hello\n```" in prompt
    (user, _reply) = session.messages()
    assert user.content == "hello" and [a.label for a in user.attachments] == ["Sample (sample)"]


def test_the_mode_chooses_the_plugin_system_prompt(
    session: ChatSession, owner: RecordingOwner, sample: PluginManager, settings: Settings
) -> None:
    settings.chat.mode = "math"
    _run(session, "2+2")
    system = owner.last_prompt().split("<|im_end|>")[0]
    assert system.startswith("<|im_start|>system\n") and system.endswith("\n\nShow every step.")
    assert "Answer like a sample." not in owner.last_prompt()


def test_a_context_provider_the_user_turned_off_adds_nothing(
    session: ChatSession, owner: RecordingOwner, sample: PluginManager, settings: Settings
) -> None:
    settings.chat.context_providers_off = ["sample.clock"]
    _run(session, "hello")
    assert "context for hello" not in owner.last_prompt()


class RaisingPrompt:
    info = INFO

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def quillpad_system_prompts(self) -> list[SystemPrompt]:
        self.calls += 1
        if self.calls > 1:  # fine at discovery, broken when a message is sent
            raise RuntimeError("prompt store unavailable")
        return [SystemPrompt("chat", "Be brief.")]


def test_a_system_prompt_hook_that_raises_turns_its_plugin_off_and_the_message_still_goes(
    session: ChatSession, owner: RecordingOwner, plugins: PluginManager, notifier: ListNotifier
) -> None:
    plugins.register(RaisingPrompt(), "raising")
    _run(session, "hello")
    assert plugins.record("raising").state == "failed"
    assert any("Helper failed in quillpad_system_prompts and was turned off" in m for m in notifier.messages)
    assert "Be brief." not in owner.last_prompt() and owner.requests[-1].messages[-1].content == "hello"


class Providers:
    info = INFO

    def __init__(self, provide: object) -> None:
        self.provide = provide

    @hookimpl
    def quillpad_context_providers(self) -> list[ContextProvider]:
        return [ContextProvider("helper.ctx", "Helper", self.provide)]  # type: ignore[arg-type]


def test_a_context_provider_that_raises_turns_its_plugin_off_and_the_message_still_goes(
    session: ChatSession, owner: RecordingOwner, plugins: PluginManager, notifier: ListNotifier
) -> None:
    def broken(request: ContextRequest) -> list[ContextPiece]:
        raise KeyError("index")

    plugins.register(Providers(broken), "helper")
    _run(session, "hello")
    assert plugins.record("helper").state == "failed"
    assert any("Helper context" in m and "turned off" in m for m in notifier.messages)
    assert owner.requests[-1].messages[-1].content == "hello"


def test_a_context_provider_slower_than_two_seconds_is_skipped_for_that_message(
    session: ChatSession, owner: RecordingOwner, plugins: PluginManager, notifier: ListNotifier
) -> None:
    def slow(request: ContextRequest) -> list[ContextPiece]:
        time.sleep(2.5)
        return [ContextPiece("Late", "too late")]

    plugins.register(Providers(slow), "helper")
    started = time.monotonic()
    _run(session, "hello")
    assert time.monotonic() - started < 2.5  # the message did not wait for it
    assert "too late" not in owner.last_prompt() and owner.requests[-1].messages[-1].content == "hello"
    assert any("Helper" in m and "more than 2 s" in m for m in notifier.messages)
    assert plugins.record("helper").state == "enabled"  # slow is not broken: next message asks again
    time.sleep(0.6)  # let the abandoned provider thread end before the leftover check


def test_stop_ends_the_reply_and_keeps_what_came(session: ChatSession, store: ConversationStore) -> None:
    session.overrides.update(max_tokens=400, ignore_eos=True)
    reply = session.send("Tell me a long story")
    events = []
    for event in session.stream(reply):
        events.append(event)
        if isinstance(event, AnswerText):
            session.stop()
    final = events[-1]
    assert isinstance(final, Done) and final.reason == "cancelled"
    stored = session.messages()[-1]
    assert not stored.complete and stored.stats is not None and stored.stats["stopped"] == 1
    assert session.finished is not None and session.finished.note == "Stopped." and not session.busy


def test_regenerate_and_edit_last(session: ChatSession) -> None:
    _run(session, "first", (FILE,))
    first_reply = session.messages()[-1].created
    reply = session.regenerate()
    assert reply is not None
    list(session.stream(reply))
    messages = session.messages()
    assert [m.role for m in messages] == ["user", "assistant"] and messages[-1].created != first_reply
    assert session.edit_last() == ("first", (FILE,))
    _run(session, "second")
    assert (session.messages()[0].role, session.messages()[0].content) == ("user", "second")
    assert len(session.messages()) == 2


def test_nothing_to_send_is_one_sentence(session: ChatSession) -> None:
    from app.core.errors import QuillpadError

    with pytest.raises(QuillpadError, match="write a message first"):
        session.send("   ")
