"""The remote backend against a real llama-cpp-python server on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from app.core.bench.llama_server import LlamaServer
from app.core.engine import AnswerText, ChatMessage, ChatRequest, Done, EngineError, EngineEvent, Stats
from app.core.engine.client import EngineState
from app.core.remote import RemoteBackend, RemoteConfig, RemoteServerError
from tests.core.remote.conftest import API_KEY

# 200 forced tokens: seconds of streaming on this server (its per-token cost grows with the
# reply), long enough to interrupt, short enough that it finishes soon after a disconnect.
LONG = {"max_tokens": 200, "ignore_eos": True}


def ask(text: str, **kwargs: object) -> ChatRequest:
    return ChatRequest((ChatMessage("user", text),), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def backend(llama_server: LlamaServer) -> Iterator[RemoteBackend]:
    with RemoteBackend(RemoteConfig(llama_server.base_url)) as remote:
        remote.connect()
        yield remote


def test_connect_picks_the_served_model(backend: RemoteBackend, llama_server: LlamaServer) -> None:
    assert backend.connected is not None
    assert backend.connected.model == "tiny-qwen3"
    assert backend.connected.available == ("tiny-qwen3",)
    assert backend.connected.display_name == f"tiny-qwen3 @ 127.0.0.1:{llama_server.port}"
    assert backend.state == EngineState.READY


def test_streams_text_then_stats_then_done(backend: RemoteBackend) -> None:
    events = list(backend.chat(ask("hello world", max_tokens=24, seed=3)))
    assert isinstance(events[-1], Done) and isinstance(events[-2], Stats)
    done, stats = events[-1], events[-2]
    streamed = "".join(e.text for e in events if isinstance(e, AnswerText))
    assert streamed and done.answer == streamed
    assert done.reason in ("stop", "length")
    assert 0 < stats.completion_tokens <= 24
    assert stats.time_to_first_token > 0
    assert backend.state == EngineState.READY


def test_two_turns_in_one_conversation(backend: RemoteBackend) -> None:
    first = list(backend.chat(ask("hi", max_tokens=8, seed=1)))[-1]
    assert isinstance(first, Done)
    request = ChatRequest(
        (ChatMessage("user", "hi"), ChatMessage("assistant", first.answer), ChatMessage("user", "again")), max_tokens=8
    )
    assert isinstance(list(backend.chat(request))[-1], Done)


def test_stop_from_another_thread_ends_the_reply_at_once(backend: RemoteBackend) -> None:
    events: list[EngineEvent] = []
    stopper: threading.Thread | None = None
    for event in backend.chat(ask("write a lot", **LONG)):
        events.append(event)
        if isinstance(event, AnswerText) and stopper is None:
            stopper = threading.Thread(target=backend.stop)
            stopper.start()
            stopper.join()
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "cancelled"
    streamed = "".join(e.text for e in events if isinstance(e, AnswerText))
    assert done.answer == streamed  # the partial answer is kept
    assert isinstance(events[-2], Stats) and events[-2].completion_tokens < 200
    # The server and the backend are ready for the next request.
    assert backend.state == EngineState.READY
    again = list(backend.chat(ask("short", max_tokens=4)))
    assert isinstance(again[-1], Done) and again[-1].reason != "cancelled"


def test_a_server_killed_mid_reply_is_an_error_that_keeps_the_partial_answer(llama_server: LlamaServer) -> None:
    with RemoteBackend(RemoteConfig(llama_server.base_url, read_timeout=30)) as remote:
        remote.connect()
        events: list[EngineEvent] = []
        for event in remote.chat(ask("write a lot", **LONG)):
            events.append(event)
            if isinstance(event, AnswerText) and llama_server.process and llama_server.process.poll() is None:
                llama_server.kill()
        error = events[-1]
        assert isinstance(error, EngineError), error
        assert "lost in the middle of the reply" in error.message or "closed the stream" in error.message
        assert not error.crashed
        streamed = "".join(e.text for e in events if isinstance(e, AnswerText))
        assert streamed and error.answer == streamed
        # With the server gone, the next request says so instead of hanging.
        refused = list(remote.chat(ask("hello?", max_tokens=4)))[-1]
        assert isinstance(refused, EngineError) and "refused" in refused.message


def test_wrong_or_missing_key_is_refused_with_a_clear_message(keyed_llama_server: LlamaServer) -> None:
    with pytest.raises(RemoteServerError, match=r"refused the API key \(HTTP 401\)") as wrong:
        RemoteBackend(RemoteConfig(keyed_llama_server.base_url, api_key="not-the-key")).connect()
    assert "not-the-key" not in str(wrong.value)
    with pytest.raises(RemoteServerError, match=r"needs an API key \(HTTP 401\).*QUILLPAD_API_KEY"):
        RemoteBackend(RemoteConfig(keyed_llama_server.base_url)).connect()
    with RemoteBackend(RemoteConfig(keyed_llama_server.base_url, api_key=API_KEY)) as remote:
        assert remote.connect().model == "tiny-qwen3"
        assert isinstance(list(remote.chat(ask("hi", max_tokens=4)))[-1], Done)


def test_unknown_model_lists_what_the_server_has(llama_server: LlamaServer) -> None:
    # llama-cpp-python's server would silently answer with its own model, so
    # the backend checks the name against /v1/models before any chat.
    with pytest.raises(RemoteServerError, match=r"no model named 'qwen3-235b'; it offers: tiny-qwen3\."):
        RemoteBackend(RemoteConfig(llama_server.base_url, model="qwen3-235b")).connect()


def test_connection_refused_is_a_clear_message(llama_server: LlamaServer) -> None:
    url = llama_server.base_url
    llama_server.stop()
    with pytest.raises(RemoteServerError, match="connection was refused; check that the model server is running"):
        RemoteBackend(RemoteConfig(url)).connect()
