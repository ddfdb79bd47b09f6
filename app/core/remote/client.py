"""``RemoteBackend``: chat with an OpenAI-compatible model server.

The request streams over server-sent events (httpx + httpx-sse). Reading
happens on a short-lived thread that hands parsed chunks to the ``chat()``
generator through a queue, so ``stop()`` from any thread ends the reply at
once: it wakes the generator directly and shuts the socket down under the
reader, which then finishes by itself. Each reply has its own connection
(its own short-lived client), whose socket is known from the moment it is
connected, so a stop also ends a reader still waiting for the response
headers (a server busy with a long prompt). Every failure (refused connection,
bad key, unknown model, a server dying or stalling mid-reply, malformed
events, TLS) ends the stream with an ``EngineError`` that keeps the partial
answer, exactly like a local engine crash.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from httpx_sse import EventSource

from app.core.engine.client import EngineBusyError, EngineState
from app.core.engine.events import (
    AnswerText,
    Done,
    DoneReason,
    EngineError,
    EngineEvent,
    Stats,
    ThinkingText,
    ToolCalls,
)
from app.core.engine.options import ChatMessage, ChatRequest, InvalidOptionError
from app.core.engine.streaming import ThinkSplitter
from app.core.remote.config import RemoteConfig, RemoteServerError, is_loopback
from app.core.remote.messages import (
    is_transient,
    retry_after_seconds,
    server_detail,
    status_message,
    transport_message,
    unknown_model_message,
)
from app.core.toolcalls.parser import CALL_OPEN, ToolCall, split_answer

log = logging.getLogger(__name__)

MAX_ERROR_BODY = 64 * 1024
JOIN_SECONDS = 5.0


@dataclass(frozen=True)
class ReplyFacts:
    """What a server said about itself in one reply (for evaluation reports)."""

    model: str | None = None  # the model id the reply names
    system_fingerprint: str | None = None
    finish_reason: str | None = None  # None: the stream ended without saying the reply finished


@dataclass(frozen=True)
class RemoteModel:
    """The server and model a ``RemoteBackend`` is connected to."""

    base_url: str
    host: str
    model: str
    available: tuple[str, ...]
    context_length: int | None = None

    @property
    def display_name(self) -> str:
        return f"{self.model} @ {self.host}"


# -- what the reader thread hands to the generator -----------------------------


@dataclass(frozen=True)
class _Chunk:
    data: dict[str, Any]


@dataclass(frozen=True)
class _End:
    saw_done: bool  # the server sent ``data: [DONE]``


@dataclass(frozen=True)
class _Failure:
    message: str
    transient: bool = False  # asking again may help (see ``EngineError.transient``)
    status: int | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class _Stopped:
    pass


_Item = _Chunk | _End | _Failure | _Stopped


def _context_length(entry: dict[str, Any]) -> int | None:
    """The context a server reports for a model, under the names servers use."""
    raw_meta = entry.get("meta")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    for value in (entry.get("max_model_len"), entry.get("context_length"), meta.get("n_ctx"), meta.get("n_ctx_train")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def openai_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The conversation in chat-completions form. An assistant turn keeps its tool calls as Qwen3's
    ``<tool_call>`` blocks in the text (the one stored form); here they become ``tool_calls`` with the
    ids of the ``tool`` messages that answer them."""
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        if message.role == "tool":
            out.append({"role": "tool", "content": message.content, "tool_call_id": message.tool_call_id})
            continue
        if message.role != "assistant" or CALL_OPEN not in message.content:
            out.append({"role": message.role, "content": message.content})
            continue
        answers = []
        for later in messages[index + 1 :]:
            if later.role != "tool":
                break
            answers.append(later.tool_call_id)
        pieces = split_answer(message.content)
        text = "".join(piece for piece in pieces if isinstance(piece, str)).strip()
        calls = [piece for piece in pieces if isinstance(piece, ToolCall)]
        entry: dict[str, Any] = {"role": "assistant", "content": text or None}
        if calls:
            entry["tool_calls"] = [
                {
                    "id": answers[n] if n < len(answers) and answers[n] else call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
                for n, call in enumerate(calls)
            ]
        out.append(entry)
    return out


def request_body(request: ChatRequest, model: str) -> dict[str, Any]:
    """The chat-completions body for ``request``.

    Only values the user chose are sent; everything else is left to the
    server (vLLM, for one, applies the model's own recommended sampling).
    ``chat_template_kwargs`` carries Qwen3's thinking switch to servers that
    render templates with it (vLLM, llama-server); others ignore the field.
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": openai_messages(request.messages),
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [dict(tool) for tool in request.tools]
    if request.thinking is not None:
        body["chat_template_kwargs"] = {"enable_thinking": request.thinking}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.seed is not None and request.seed >= 0:
        body["seed"] = request.seed
    body.update(request.sampling.as_dict())
    if request.ignore_eos:
        # Fixed-length output: llama-server and vLLM know ignore_eos; vLLM and
        # llama-cpp-python's server reach the same through min_tokens.
        body["ignore_eos"] = True
        if request.max_tokens is not None:
            body["min_tokens"] = request.max_tokens
    if request.grammar:
        body["grammar"] = request.grammar  # llama.cpp servers; others ignore it
    return body


class _ReplyStream:
    """One streaming request, read on its own thread."""

    def __init__(self, client: httpx.Client, config: RemoteConfig, body: dict[str, Any]) -> None:
        self._client = client
        self._config = config
        self._body = body
        self.items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._response: httpx.Response | None = None
        self._network_stream: Any = None  # the connection's stream, from the moment it connects
        self._thread = threading.Thread(target=self._run, name="quillpad-remote-reply", daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Wake the consumer now and cut the connection under the reader."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.items.put(_Stopped())
        self._shutdown_socket()

    def join(self, timeout: float = JOIN_SECONDS) -> None:
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: keep the connection's stream as soon as it exists (TLS replaces it)."""
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            if stream is not None:
                self._network_stream = stream
                if self._stopped.is_set():  # stopped while connecting
                    self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        # Closing a socket does not wake a thread blocked reading it; shutting
        # it down does, at once, for plain and TLS connections alike.
        stream = self._network_stream
        if stream is None and self._response is not None:
            stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError, ValueError):
                if isinstance(sock, ssl.SSLSocket):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                else:
                    sock.shutdown(socket.SHUT_RDWR)

    def _fail(
        self, message: str, *, transient: bool = False, status: int | None = None, retry_after: float | None = None
    ) -> None:
        if not self._stopped.is_set():
            self.items.put(_Failure(message, transient, status, retry_after))

    def _run(self) -> None:
        try:
            self._request()
        finally:
            self._client.close()

    def _request(self) -> None:
        try:
            if self._stopped.is_set():
                return
            trace = {"trace": self._trace}
            with self._client.stream("POST", "chat/completions", json=self._body, extensions=trace) as response:
                self._response = response
                if self._stopped.is_set():
                    return
                if response.status_code >= 400:
                    status = response.status_code
                    self._fail(
                        self._status_failure(response),
                        transient=status in (408, 429) or status >= 500,
                        status=status,
                        retry_after=retry_after_seconds(response.headers.get("retry-after")),
                    )
                    return
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    self._read_whole(response)
                    return
                self._read_events(response)
        except Exception as err:  # every failure becomes a message; after a stop, none matters
            if not self._stopped.is_set():
                log.info("remote reply failed: %s: %s", type(err).__name__, err)
                self._fail(
                    transport_message(err, self._config, during_reply=self._response is not None),
                    transient=is_transient(err),
                )

    def _read_events(self, response: httpx.Response) -> None:
        for event in EventSource(response).iter_sse():
            if self._stopped.is_set():
                return
            data = event.data.strip()
            if not data:
                continue
            if data == "[DONE]":
                self.items.put(_End(saw_done=True))
                return
            try:
                parsed = json.loads(data)
            except ValueError:
                self._fail(
                    f"The model server at {self._config.host} sent an event that is not valid JSON "
                    f"({data[:60]!r}), so the reply was ended; the partial answer is kept.",
                    transient=True,
                )
                return
            if not isinstance(parsed, dict):
                self._fail(
                    f"The model server at {self._config.host} sent an event that is not a JSON object, "
                    "so the reply was ended; the partial answer is kept.",
                    transient=True,
                )
                return
            if "error" in parsed and not parsed.get("choices"):
                detail = server_detail(data.encode())
                self._fail(
                    f"The model server at {self._config.host} reported an error mid-reply: {detail}.", transient=True
                )
                return
            self.items.put(_Chunk(parsed))
        if not self._stopped.is_set():
            self.items.put(_End(saw_done=False))

    def _read_whole(self, response: httpx.Response) -> None:
        """A server that ignored ``stream``: one JSON completion, as one chunk."""
        body = response.read()
        try:
            data = json.loads(body)
            message = data["choices"][0]["message"]
            chunk = {
                "choices": [{"delta": message, "finish_reason": data["choices"][0].get("finish_reason", "stop")}],
                "usage": data.get("usage"),
            }
        except (ValueError, KeyError, IndexError, TypeError):
            self._fail(
                f"The model server at {self._config.host} answered with something that is not a chat reply "
                f"({server_detail(body)[:80]!r}); check that the address is an OpenAI-compatible API."
            )
            return
        self.items.put(_Chunk(chunk))
        self.items.put(_End(saw_done=True))

    def _status_failure(self, response: httpx.Response) -> str:
        body = b""
        for piece in response.iter_bytes():
            body += piece
            if len(body) >= MAX_ERROR_BODY:
                break
        available: tuple[str, ...] | None = None
        if response.status_code == 404:
            with contextlib.suppress(RemoteServerError):
                listed = list_models(self._client, self._config)
                available = listed[0] if listed is not None else None
        return status_message(
            response.status_code, body, self._config, model=str(self._body["model"]), available=available
        )


@functools.lru_cache(maxsize=8)
def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """The TLS context of every client, made once: loading the trusted certificates takes tens of
    milliseconds, which a client per reply with many replies in flight cannot afford."""
    if ca_file:
        return ssl.create_default_context(cafile=ca_file)
    return httpx.create_ssl_context()


def make_client(config: RemoteConfig) -> httpx.Client:
    """An HTTP client for ``config``: auth header, timeouts, TLS trust."""
    headers = {"Accept": "text/event-stream, application/json"}
    if config.api_key:
        headers["Authorization"] = f"Bearer {config.api_key}"
    try:
        verify = _tls_context(config.ca_file)
    except (OSError, ssl.SSLError) as err:
        raise RemoteServerError(
            f"The certificate authority file {config.ca_file} could not be read ({err}); check the path."
        ) from None
    return httpx.Client(
        base_url=config.base_url + "/",
        headers=headers,
        timeout=httpx.Timeout(config.read_timeout, connect=config.connect_timeout),
        verify=verify,
        # A server on this computer is never reached through a proxy.
        trust_env=not is_loopback(config.base_url),
    )


def list_models(client: httpx.Client, config: RemoteConfig) -> tuple[tuple[str, ...], dict[str, int | None]] | None:
    """The server's model ids and their context lengths; ``None`` when it has no list.

    Raises ``RemoteServerError`` when the server cannot be reached or refuses the key.
    """
    try:
        response = client.get("models")
    except httpx.HTTPError as err:
        raise RemoteServerError(transport_message(err, config)) from None
    if response.status_code in (401, 403):
        raise RemoteServerError(status_message(response.status_code, response.content, config, model=config.model))
    if response.status_code != 200:
        return None
    try:
        entries = response.json()["data"]
        ids = tuple(str(e["id"]) for e in entries)
        contexts = {str(e["id"]): _context_length(e) for e in entries}
    except (ValueError, KeyError, TypeError):
        return None
    return ids, contexts


class RemoteBackend:
    """A ``ChatBackend`` over an OpenAI-compatible server. ``stop()`` and
    ``kill()`` are thread-safe; other calls belong to one controlling thread."""

    def __init__(self, config: RemoteConfig, *, connected_to: RemoteModel | None = None) -> None:
        """``connected_to``: the model of a sibling already connected (see ``sibling``): ready at once."""
        self.config = config
        self._client: httpx.Client | None = make_client(config) if connected_to is not None else None
        self._remote: RemoteModel | None = connected_to
        self._state = EngineState.READY if connected_to is not None else EngineState.STOPPED
        self._lock = threading.Lock()
        self._current: _ReplyStream | None = None
        self.last_reply = ReplyFacts()  # of the latest reply (set when it ends)

    @property
    def state(self) -> EngineState:
        return self._state

    @property
    def connected(self) -> RemoteModel | None:
        return self._remote

    def connect(self) -> RemoteModel:
        """Check the server and the model; raises ``RemoteServerError`` with the reason."""
        try:
            return self._connect()
        except RemoteServerError:
            # Nothing is kept open for a server that cannot be used.
            self.close()
            raise

    def _connect(self) -> RemoteModel:
        if self._client is None:
            self._client = make_client(self.config)
        self._state = EngineState.LOADING
        listed = list_models(self._client, self.config)
        model = self.config.model
        available: tuple[str, ...] = ()
        context: int | None = None
        if listed is not None:
            available, contexts = listed
            if not model:
                if not available:
                    raise RemoteServerError(
                        f"The model server at {self.config.host} lists no models; name one with the model setting."
                    )
                model = available[0]
            elif model not in available:
                raise RemoteServerError(unknown_model_message(self.config.host, model, available))
            context = contexts.get(model)
        elif not model:
            raise RemoteServerError(
                f"The model server at {self.config.host} does not list its models; name the model to use."
            )
        self._remote = RemoteModel(self.config.base_url, self.config.host, model, available, context)
        self._state = EngineState.READY
        return self._remote

    def sibling(self) -> RemoteBackend:
        """Another backend on the same server and model, ready without asking the server again.

        One backend writes one reply at a time; N siblings keep N requests in flight.
        """
        if self._remote is None:
            raise InvalidOptionError("Not connected to a model server; connect to one first.")
        return RemoteBackend(self.config, connected_to=self._remote)

    def restart(self) -> RemoteModel:
        """Connect again (after the server came back)."""
        self.close()
        return self.connect()

    def stop(self) -> None:
        current = self._current
        if current is not None:
            current.stop()

    def kill(self) -> None:
        self.stop()

    def close(self) -> None:
        current = self._current
        if current is not None:
            current.stop()
            current.join()
        if self._client is not None:
            self._client.close()
            self._client = None
        self._remote = None
        self._state = EngineState.STOPPED

    def __enter__(self) -> RemoteBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chat(self, request: ChatRequest) -> Iterator[EngineEvent]:
        """Stream one reply: thinking and answer text, ``Stats``, then ``Done`` or ``EngineError``."""
        request.validate()
        if self._remote is None or self._client is None:
            raise InvalidOptionError("Not connected to a model server; connect to one first.")
        # A fresh client per reply: its connection is new, so its socket is known before any header arrives.
        client = make_client(self.config)
        if not self._lock.acquire(blocking=False):
            client.close()
            raise EngineBusyError("A reply is already being written; stop it or wait for it to finish.")
        stream = _ReplyStream(client, self.config, request_body(request, self._remote.model))
        self._current = stream
        self._state = EngineState.BUSY
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._current = None
                self._state = EngineState.READY
                self._lock.release()

        try:
            started = time.monotonic()
            stream.start()
            yield from self._events(stream, started, release)
        finally:
            if not released:
                stream.stop()  # the consumer walked away mid-reply
                release()

    def _events(self, stream: _ReplyStream, started: float, release: Any) -> Iterator[EngineEvent]:
        splitter = ThinkSplitter()
        answer: list[str] = []
        thinking: list[str] = []
        first_token: float | None = None
        chunks = thinking_chunks = 0
        finish: str | None = None
        usage: dict[str, Any] = {}
        facts: dict[str, str] = {}
        calls: dict[int, dict[str, str]] = {}  # native tool calls, assembled from their streamed fragments

        def emit(channel: str, text: str) -> EngineEvent:
            if channel == "thinking":
                thinking.append(text)
                return ThinkingText(text)
            answer.append(text)
            return AnswerText(text)

        while True:
            item = stream.items.get()
            if stream.stopped and not isinstance(item, _Stopped):
                item = _Stopped()  # chunks already queued must not outrun a stop
            if isinstance(item, _Chunk):
                data = item.data
                if isinstance(data.get("usage"), dict):
                    usage = data["usage"]
                for key in ("model", "system_fingerprint"):
                    if isinstance(data.get(key), str) and data[key]:
                        facts[key] = data[key]
                choices = data.get("choices") or []
                choice = choices[0] if choices and isinstance(choices[0], dict) else {}
                delta = choice.get("delta") or {}
                if not isinstance(delta, dict):
                    delta = {}
                # vLLM renamed reasoning_content to reasoning; llama-server uses the old name.
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                content = delta.get("content")
                pieces: list[tuple[str, str]] = []
                if isinstance(reasoning, str) and reasoning:
                    pieces.append(("thinking", reasoning))
                    thinking_chunks += 1
                if isinstance(content, str) and content:
                    split = splitter.feed(content)
                    pieces.extend(split)
                    if splitter.in_thinking or any(channel == "thinking" for channel, _ in split):
                        thinking_chunks += 1
                # A token that ends inside a UTF-8 character arrives as empty
                # content: it still counts as a generated token.
                if isinstance(reasoning, str) or isinstance(content, str):
                    chunks += 1
                    if first_token is None:
                        first_token = time.monotonic()
                for channel, text in pieces:
                    yield emit(channel, text)
                _collect_tool_calls(delta.get("tool_calls"), calls)
                if choice.get("finish_reason"):
                    finish = str(choice["finish_reason"])
                continue
            for channel, text in splitter.finish():
                yield emit(channel, text)
            self.last_reply = ReplyFacts(facts.get("model"), facts.get("system_fingerprint"), finish)
            if isinstance(item, _Stopped):
                final: EngineEvent = Done("cancelled", "".join(answer), "".join(thinking))
            elif isinstance(item, _Failure):
                final = EngineError(
                    item.message,
                    answer="".join(answer),
                    thinking="".join(thinking),
                    transient=item.transient,
                    status=item.status,
                    retry_after=item.retry_after,
                )
            elif finish is None and not item.saw_done:
                final = EngineError(
                    f"The model server at {self.config.host} closed the stream before the reply finished "
                    "(it may have stopped or crashed); the partial answer is kept.",
                    answer="".join(answer),
                    thinking="".join(thinking),
                    transient=True,
                )
            else:
                reason: DoneReason = "length" if finish == "length" else "stop"
                final = Done(reason, "".join(answer), "".join(thinking))
            if calls and isinstance(final, Done) and final.reason != "cancelled":
                yield ToolCalls(
                    tuple((c["id"] or f"call_{i}", c["name"], c["arguments"] or "{}") for i, c in sorted(calls.items()))
                )
            if not isinstance(item, _Stopped | _Failure) or chunks:
                yield self._stats(started, first_token, chunks, thinking_chunks, usage)
            release()
            yield final
            return

    @staticmethod
    def _stats(
        started: float, first_token: float | None, chunks: int, thinking_chunks: int, usage: dict[str, Any]
    ) -> Stats:
        now = time.monotonic()
        first = first_token if first_token is not None else now
        completion = usage.get("completion_tokens")
        prompt = usage.get("prompt_tokens")
        completion_tokens = completion if isinstance(completion, int) and completion > 0 else chunks
        prompt_tokens = prompt if isinstance(prompt, int) and prompt > 0 else 0
        details = usage.get("completion_tokens_details")
        reasoning = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return Stats(
            prompt_tokens=prompt_tokens,
            prompt_tokens_evaluated=prompt_tokens,
            prompt_tokens_reused=0,
            completion_tokens=completion_tokens,
            thinking_tokens=reasoning if isinstance(reasoning, int) else thinking_chunks,
            time_to_first_token=first - started,
            prompt_seconds=first - started,
            decode_seconds=max(0.0, now - first),
        )


def _collect_tool_calls(deltas: object, calls: dict[int, dict[str, str]]) -> None:
    """Add one chunk's ``tool_calls`` fragments (by index: id and name once, arguments in pieces)."""
    if not isinstance(deltas, list):
        return
    for position, delta in enumerate(deltas):
        if not isinstance(delta, dict):
            continue
        index = delta.get("index", position)
        entry = calls.setdefault(index if isinstance(index, int) else position, {"id": "", "name": "", "arguments": ""})
        if isinstance(delta.get("id"), str):
            entry["id"] = delta["id"]
        function = delta.get("function")
        if isinstance(function, dict):
            if isinstance(function.get("name"), str):
                entry["name"] += function["name"]
            if isinstance(function.get("arguments"), str):
                entry["arguments"] += function["arguments"]
