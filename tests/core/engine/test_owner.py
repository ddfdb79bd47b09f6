"""The engine owner: request ids, Stop tied to one request, and the queue (tiny real model)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.engine import AnswerText, ChatMessage, ChatRequest, Done, EngineEvent, LoadOptions
from app.core.engine.events import Queued
from app.core.engine.model_client import AskOptions, EngineModelClient
from app.core.engine.owner import EngineOwner, ReplyStream
from app.core.git.message import propose_message


@pytest.fixture
def owner(qwen3_gguf: Path) -> Iterator[EngineOwner]:
    with EngineOwner() as owner:
        owner.load(qwen3_gguf, LoadOptions(threads=1))
        yield owner


def _request(text: str, tokens: int = 48) -> ChatRequest:
    # ignore_eos: a fixed length, so "completed" is unmistakable (reason "length").
    return ChatRequest((ChatMessage("user", text),), thinking=False, max_tokens=tokens, seed=1, ignore_eos=True)


class _Collector(threading.Thread):
    """Iterates a stream on another thread, as the GUI's engine thread or a pool thread would."""

    def __init__(self, stream: ReplyStream) -> None:
        super().__init__(name="collector")
        self.stream = stream
        self.events: list[EngineEvent] = []
        self.queued = threading.Event()

    def run(self) -> None:
        for event in self.stream:
            self.events.append(event)
            if isinstance(event, Queued):
                self.queued.set()

    @property
    def final(self) -> EngineEvent:
        return self.events[-1]


def _first_text(stream: ReplyStream) -> list[EngineEvent]:
    seen: list[EngineEvent] = []
    for event in stream:
        seen.append(event)
        if isinstance(event, AnswerText):
            return seen
    raise AssertionError(f"the reply ended before any text: {seen}")


def test_stopping_a_queued_chat_reply_leaves_the_commit_message_being_written(owner: EngineOwner) -> None:
    commit = owner.chat(_request("Write a commit message"), "commit message")
    _first_text(commit)  # the commit message is being generated
    chat = _Collector(owner.chat(_request("Hello"), "chat"))
    chat.start()
    assert chat.queued.wait(10)
    assert chat.events[0] == Queued(1)  # one request (the commit message) ahead
    assert owner.stop(chat.stream.id)
    chat.join(10)
    assert isinstance(chat.final, Done) and chat.final.reason == "cancelled"
    final = list(commit)[-1]
    assert isinstance(final, Done) and final.reason == "length" and final.answer  # it completed


def test_stopping_the_running_chat_reply_does_not_end_the_queued_commit_message(owner: EngineOwner) -> None:
    chat = owner.chat(_request("Hello", tokens=400), "chat")
    _first_text(chat)
    commit = _Collector(owner.chat(_request("Write a commit message"), "commit message"))
    commit.start()
    assert commit.queued.wait(10)
    assert owner.stop(chat.id)
    final = list(chat)[-1]
    assert isinstance(final, Done) and final.reason == "cancelled"
    commit.join(30)
    assert isinstance(commit.final, Done) and commit.final.reason == "length" and commit.final.answer


def test_stopping_the_commit_message_leaves_the_chat_reply(owner: EngineOwner) -> None:
    # The reverse, through the commit dialog's own client: its stop() names its own request only.
    chat = owner.chat(_request("Hello"), "chat")
    _first_text(chat)
    client = EngineModelClient(owner, purpose="commit message")
    result: list[object] = []

    def write_message() -> None:
        try:
            result.append(propose_message(client, "diff --git a/x b/x\n+x = 1\n", AskOptions(max_tokens=16)))
        except Exception as err:  # the reply was stopped: whatever it raises is the outcome
            result.append(err)

    worker = threading.Thread(target=write_message, name="commit")
    worker.start()
    while owner.waiting() < 2:  # the commit message is queued behind the chat
        threading.Event().wait(0.01)
    client.stop()
    worker.join(10)
    assert not worker.is_alive() and result
    final = list(chat)[-1]
    assert isinstance(final, Done) and final.reason == "length" and final.answer


def test_the_running_commit_message_completes_when_the_chat_is_stopped_too_early(owner: EngineOwner) -> None:
    # A reserved id stopped before its request arrives (the GUI's queued signal) never stops another.
    reserved = owner.reserve_id()
    assert owner.stop(reserved)
    commit = owner.chat(_request("Write a commit message"), "commit message")
    events = list(commit)
    assert isinstance(events[-1], Done) and events[-1].reason == "length"
    late = list(owner.chat(_request("Hello"), "chat", request_id=reserved))
    assert late == [Done("cancelled")]


def test_a_second_and_third_request_wait_with_their_positions_shown(owner: EngineOwner) -> None:
    first = owner.chat(_request("one", tokens=200), "chat")
    _first_text(first)
    second = _Collector(owner.chat(_request("two"), "evaluation"))
    second.start()
    assert second.queued.wait(10)
    third = _Collector(owner.chat(_request("three"), "commit message"))
    third.start()
    assert third.queued.wait(10)
    rest = list(first)
    assert isinstance(rest[-1], Done) and rest[-1].reason == "length"
    second.join(30)
    third.join(30)
    assert second.events[0] == Queued(1)
    positions = [e.position for e in third.events if isinstance(e, Queued)]
    assert positions[0] == 2 and positions[-1] == 1  # it moved up when the first ended
    for done in (second.final, third.final):
        assert isinstance(done, Done) and done.reason == "length"


def test_stop_of_an_unknown_or_finished_request_is_a_no_op(owner: EngineOwner) -> None:
    reply = owner.chat(_request("Hello", tokens=4), "chat")
    assert isinstance(list(reply)[-1], Done)
    assert not owner.stop(reply.id)
    assert not owner.stop(10_000)
    assert owner.waiting() == 0 and owner.running_id() is None
