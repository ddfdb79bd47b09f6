"""Shapes a real test server does not produce, from a scripted server on 127.0.0.1:
separate reasoning fields, think tags split across chunks, malformed events,
stalls, mid-stream errors, 404s, TLS."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from app.core.engine import (
    AnswerText,
    ChatMessage,
    ChatRequest,
    Done,
    EngineError,
    EngineEvent,
    SamplingOverrides,
    Stats,
    ThinkingText,
)
from app.core.remote import RemoteBackend, RemoteConfig, RemoteServerError
from app.core.remote.config import normalise_base_url
from tests.fixtures.fake_openai_server import DONE, FakeOpenAIServer, Script, chunk


def ask(text: str = "hi", **kwargs: object) -> ChatRequest:
    return ChatRequest((ChatMessage("user", text),), **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def backend(fake_server: FakeOpenAIServer) -> Iterator[RemoteBackend]:
    with RemoteBackend(RemoteConfig(fake_server.base_url, read_timeout=5)) as remote:
        remote.connect()
        yield remote


def reader_threads_end(within: float = 2.0) -> bool:
    """The reply's reader thread ends soon after a stop, while the server still stalls."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(t.name == "quillpad-remote-reply" for t in threading.enumerate()):
            return True
        time.sleep(0.02)
    return False


def texts(events: list[EngineEvent], kind: type) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))  # type: ignore[attr-defined]


def test_reasoning_content_field_becomes_thinking(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    fake_server.script = Script(
        lines=[
            chunk(reasoning="Let me "),
            chunk(reasoning="add."),
            chunk(content="2 + 2 "),
            chunk(content="= 4"),
            chunk(finish="stop"),
            'data: {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 6}}',
            DONE,
        ]
    )
    events = list(backend.chat(ask("2+2?", thinking=True)))
    assert texts(events, ThinkingText) == "Let me add."
    assert texts(events, AnswerText) == "2 + 2 = 4"
    done, stats = events[-1], events[-2]
    assert isinstance(done, Done) and done.reason == "stop"
    assert (done.thinking, done.answer) == ("Let me add.", "2 + 2 = 4")
    assert isinstance(stats, Stats) and (stats.prompt_tokens, stats.completion_tokens) == (12, 6)


def test_vllm_reasoning_field_and_length_finish(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    reasoning = 'data: {"choices": [{"delta": {"reasoning": "hmm"}, "finish_reason": null}]}'
    fake_server.script = Script(lines=[reasoning, chunk(content="ok"), chunk(finish="length"), DONE])
    done = list(backend.chat(ask()))[-1]
    assert isinstance(done, Done) and (done.thinking, done.answer, done.reason) == ("hmm", "ok", "length")


def test_think_tags_inside_content_split_across_chunks(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    pieces = ["<thi", "nk>\nfirst ", "thought</th", "ink>\n\nThe ", "answer."]
    fake_server.script = Script(lines=[*(chunk(content=p) for p in pieces), chunk(finish="stop"), DONE])
    events = list(backend.chat(ask()))
    done = events[-1]
    assert isinstance(done, Done)
    assert (done.thinking, done.answer) == ("first thought", "The answer.")
    assert texts(events, ThinkingText) == "first thought" and texts(events, AnswerText) == "The answer."


def test_request_carries_thinking_switch_sampling_and_usage_option(
    fake_server: FakeOpenAIServer, backend: RemoteBackend
) -> None:
    fake_server.script = Script(lines=[chunk(content="x"), chunk(finish="stop"), DONE])
    request = ask("hello", thinking=False, max_tokens=50, seed=7, sampling=SamplingOverrides(temperature=0.3, top_k=20))
    list(backend.chat(request))
    body = fake_server.requests[-1]
    assert body["model"] == "fake-qwen3" and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "hello"}]
    assert body["chat_template_kwargs"] == {"enable_thinking": False}
    assert body["stream_options"] == {"include_usage": True}
    assert (body["max_tokens"], body["seed"], body["temperature"], body["top_k"]) == (50, 7, 0.3, 20)
    list(backend.chat(ask("default thinking")))
    assert "chat_template_kwargs" not in fake_server.requests[-1]  # the server's default
    assert "seed" not in fake_server.requests[-1]


def test_invalid_json_event_ends_with_a_message_and_keeps_the_partial_answer(
    fake_server: FakeOpenAIServer, backend: RemoteBackend
) -> None:
    fake_server.script = Script(lines=[chunk(content="partial "), "data: {not json", chunk(content="never"), DONE])
    events = list(backend.chat(ask()))
    error = events[-1]
    assert isinstance(error, EngineError) and "not valid JSON" in error.message
    assert error.answer == "partial " and texts(events, AnswerText) == "partial "


def test_a_stalled_stream_times_out_with_a_message(fake_server: FakeOpenAIServer) -> None:
    fake_server.script = Script(lines=[chunk(content="so far"), 30.0, DONE])
    with RemoteBackend(RemoteConfig(fake_server.base_url, read_timeout=0.5)) as remote:
        remote.connect()
        error = list(remote.chat(ask()))[-1]
    assert isinstance(error, EngineError)
    assert "sent nothing for 0.5 s" in error.message and error.answer == "so far"


def test_stop_during_a_stall_returns_at_once(fake_server: FakeOpenAIServer) -> None:
    """A reply the server stopped feeding must still stop at once (no wait for the timeout)."""
    fake_server.script = Script(lines=[chunk(content="thinking hard"), 30.0, DONE])
    events: list[object] = []
    # A read timeout past the 30 s stall: only the stop can end this reply before the join gives up.
    with RemoteBackend(RemoteConfig(fake_server.base_url, read_timeout=60)) as backend:
        backend.connect()
        reader = threading.Thread(target=lambda: [events.append(event) for event in backend.chat(ask())])
        reader.start()
        while reader.is_alive() and not any(isinstance(e, AnswerText) for e in events):  # first chunk in: stall begins
            reader.join(0.05)
        backend.stop()
        reader.join(20)  # a hang guard on the reply itself, well inside the server's 30 s silence
        assert not reader.is_alive(), "the stopped reply waited for the server"
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "cancelled" and done.answer == "thinking hard"
    assert reader_threads_end()  # the socket was shut down under it


def test_stop_before_the_headers_ends_the_reader_too(fake_server: FakeOpenAIServer) -> None:
    """A server still busy with the prompt (no headers yet): Stop ends the chat and its reader thread,
    without waiting for the headers (60 s here) or the read timeout (30 s)."""
    fake_server.script = Script(lines=[chunk(content="late"), DONE], headers_delay=60.0)
    with RemoteBackend(RemoteConfig(fake_server.base_url, read_timeout=30)) as remote:
        remote.connect()
        stopper = threading.Timer(0.5, remote.stop)
        stopper.start()
        events = list(remote.chat(ask()))
        stopper.join()
        assert events == [Done("cancelled", "", "")]
        readers = [t for t in threading.enumerate() if t.name == "quillpad-remote-reply"]
        for reader in readers:
            reader.join(10.0)  # a hang bound, not a timing assertion
        assert not any(reader.is_alive() for reader in readers)
        assert len(fake_server.requests) == 1  # the request did reach the server before the stop
        # The backend is usable again at once.
        fake_server.script = Script(lines=[chunk(content="again"), chunk(finish="stop"), DONE])
        assert texts(list(remote.chat(ask())), AnswerText) == "again"


def test_server_dropping_the_connection_mid_stream(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    fake_server.script = Script(lines=[chunk(content="half an"), None])
    error = list(backend.chat(ask()))[-1]
    assert isinstance(error, EngineError) and error.answer == "half an"
    assert "closed the stream before the reply finished" in error.message or "lost in the middle" in error.message


def test_error_event_mid_stream(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    error_event = "data: " + json.dumps({"error": {"message": "CUDA out of memory", "code": 500}})
    fake_server.script = Script(lines=[chunk(content="a"), error_event])
    error = list(backend.chat(ask()))[-1]
    assert isinstance(error, EngineError) and "CUDA out of memory" in error.message and error.answer == "a"


def test_404_for_the_model_lists_the_servers_models(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    # vLLM's answer when the model was unloaded or renamed after connecting.
    body = json.dumps({"error": {"message": "The model `fake-qwen3` does not exist.", "code": 404}}).encode()
    fake_server.script = Script(status=404, body=body, content_type="application/json")
    error = list(backend.chat(ask()))[-1]
    assert isinstance(error, EngineError)
    assert error.message.endswith("has no model named 'fake-qwen3'; it offers: fake-qwen3.")


def test_server_errors_and_non_streaming_answers(fake_server: FakeOpenAIServer, backend: RemoteBackend) -> None:
    fake_server.script = Script(status=500, body=b'{"detail": "model crashed"}')
    error = list(backend.chat(ask()))[-1]
    assert isinstance(error, EngineError) and "failed (HTTP 500: model crashed)" in error.message
    whole = {"choices": [{"message": {"role": "assistant", "content": "<think>hm</think>whole"}}], "usage": None}
    fake_server.script = Script(body=json.dumps(whole).encode(), content_type="application/json")
    done = list(backend.chat(ask()))[-1]
    assert isinstance(done, Done) and (done.thinking, done.answer) == ("hm", "whole")


def test_wrong_key_and_unknown_model_at_connect() -> None:
    with FakeOpenAIServer(models=("qwen3-8b", "qwen3-32b"), api_key="right") as server:
        with pytest.raises(RemoteServerError, match=r"refused the API key \(HTTP 401\)"):
            RemoteBackend(RemoteConfig(server.base_url, api_key="wrong")).connect()
        with pytest.raises(RemoteServerError, match=r"it offers: qwen3-8b, qwen3-32b\."):
            RemoteBackend(RemoteConfig(server.base_url, model="qwen3-235b", api_key="right")).connect()
        with RemoteBackend(RemoteConfig(server.base_url, model="qwen3-32b", api_key="right")) as remote:
            connected = remote.connect()
            assert (connected.model, connected.context_length) == ("qwen3-32b", 4096)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _tls_server(ca: trustme.CA) -> FakeOpenAIServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return FakeOpenAIServer(tls=context)


def test_tls_with_an_untrusted_certificate_is_a_clear_message(ca: trustme.CA) -> None:
    with _tls_server(ca) as server, pytest.raises(RemoteServerError) as refused:
        RemoteBackend(RemoteConfig(server.base_url, connect_timeout=5)).connect()
    assert "secure (TLS) connection to 127.0.0.1" in str(refused.value)
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_tls_with_a_trusted_authority_works(ca: trustme.CA, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with _tls_server(ca) as server:
        server.script = Script(lines=[chunk(content="secure"), chunk(finish="stop"), DONE])
        with RemoteBackend(RemoteConfig(server.base_url, ca_file=str(ca_file))) as remote:
            remote.connect()
            done = list(remote.chat(ask()))[-1]
    assert isinstance(done, Done) and done.answer == "secure"


def test_base_url_forms() -> None:
    assert normalise_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/v1"
    assert normalise_base_url("localhost:11434/v1/") == "http://localhost:11434/v1"
    assert normalise_base_url("https://gpu.example/openai/v1") == "https://gpu.example/openai/v1"
    for bad, reason in (("", "No server address"), ("ftp://x", "http:// or https://"), ("http://:80", "no host")):
        with pytest.raises(RemoteServerError, match=reason):
            normalise_base_url(bad)
    assert "secret" not in repr(RemoteConfig("http://127.0.0.1:1", api_key="secret"))


def test_chat_before_connect_and_while_busy_are_refused(fake_server: FakeOpenAIServer) -> None:
    remote = RemoteBackend(RemoteConfig(fake_server.base_url))
    with pytest.raises(Exception, match="Not connected to a model server"):
        next(remote.chat(ask()))
    remote.connect()
    fake_server.script = Script(lines=[chunk(content="a"), 30.0, DONE])
    first = remote.chat(ask())
    assert isinstance(next(first), AnswerText)
    with pytest.raises(Exception, match="already being written"):
        next(remote.chat(ask()))
    remote.stop()
    assert isinstance(list(first)[-1], Done)
    remote.close()


def test_stop_over_tls_during_a_stall(ca: trustme.CA, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with _tls_server(ca) as server:
        server.script = Script(lines=[chunk(content="secure so far"), 30.0, DONE])
        with RemoteBackend(RemoteConfig(server.base_url, ca_file=str(ca_file), read_timeout=20)) as remote:
            remote.connect()
            stream = remote.chat(ask())
            assert next(stream) == AnswerText("secure so far")
            remote.stop()
            done = list(stream)[-1]
            assert reader_threads_end()
    assert isinstance(done, Done) and done.reason == "cancelled" and done.answer == "secure so far"
