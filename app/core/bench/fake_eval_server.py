"""A scripted OpenAI-compatible server that answers many requests at once, for evaluation tests and benchmarks.

It is what a real cluster looks like from the client, minus the model: each
request is answered after a fixed ``latency`` (streamed over SSE, usage and
``system_fingerprint`` included), every request on its own thread, so N
requests in flight take one latency, not N. Faults are injected by request
number (``429`` with ``Retry-After``, ``503``, a stream dropped mid-reply, a
malformed event, a stall), and ``restart()`` takes the server away and
brings it back on the same port, as an upgrade or a crash-and-restart would.

The replies come from ``answer(messages, seed)``: deterministic, so a
concurrent run with faults must produce exactly the results of a plain
sequential one. Standard library only; run it as a separate process with
``python -m app.core.bench.fake_eval_server --port N --latency S``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[list[dict[str, Any]], int], tuple[str, str]]  # (thinking, answer)
FAULTS = ("400", "401", "404", "429", "503", "drop", "malformed", "stall")
FINGERPRINT = "fp_fake_eval_1"


def echo_answer(messages: list[dict[str, Any]], seed: int) -> tuple[str, str]:
    """A reply that depends only on the question and the seed (the same request always gets the same reply)."""
    text = str(messages[-1].get("content", "")) if messages else ""
    digest = hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()[:12]
    return f"thinking about {digest}", f"The answer is $\\boxed{{{int(digest[:4], 16) % 100}}}$."


@dataclass
class FaultPlan:
    """Which request numbers (1, 2, ... in arrival order) get which fault; ``stall_seconds`` for stalls."""

    by_request: dict[int, str] = field(default_factory=dict)
    retry_after: float = 0.05
    stall_seconds: float = 30.0


class FakeEvalServer:
    """A threaded fake server on 127.0.0.1; ``with FakeEvalServer() as server:``."""

    def __init__(
        self,
        *,
        answer: Answer = echo_answer,
        latency: float = 0.0,
        model: str = "fake-qwen3",
        chunks: int = 4,
        faults: FaultPlan | None = None,
        port: int = 0,
        props: bool = True,
    ) -> None:
        self.answer = answer
        self.latency = latency
        self.model = model
        self.chunks = max(1, chunks)
        self.faults = faults or FaultPlan()
        self.props = props
        self.port = port
        self.release = threading.Event()  # ends every pause at once (shutdown)
        self._lock = threading.Lock()
        self.received = 0  # chat requests, faults included
        self.completed = 0  # chat replies sent whole
        self.in_flight = 0
        self.max_in_flight = 0
        self.bodies: list[dict[str, Any]] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeEvalServer:
        """Listen (on the same port as before, after a restart) and serve on a thread."""
        self.release.clear()
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        httpd.daemon_threads = True
        httpd.request_queue_size = 256  # many requests arrive at once
        self.port = int(httpd.server_address[1])
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="fake-eval-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut the replies in progress (they end without a finish: a crash)."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is None:
            return
        self.release.set()
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(5)
        time.sleep(0.05)  # let released handler threads write their last bytes

    def restart(self, down_seconds: float = 0.3) -> None:
        """Go away for ``down_seconds`` (connections refused meanwhile), then serve again on the same port."""
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def __enter__(self) -> FakeEvalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- counting (handler threads call these) ---------------------------------------------

    def count_arrival(self, payload: dict[str, Any]) -> int:
        """Count a chat request coming in; its number, from 1."""
        with self._lock:
            self.received += 1
            self.bodies.append(payload)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return self.received

    def count_departure(self) -> None:
        """Count a request no longer in flight (answered, failed or abandoned)."""
        with self._lock:
            self.in_flight -= 1

    def count_completion(self) -> None:
        """Count a reply sent whole."""
        with self._lock:
            self.completed += 1

    # -- requests --------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/v1/models":
                    entry = {"id": server.model, "object": "model", "owned_by": "fake", "max_model_len": 8192}
                    self._send(200, {"object": "list", "data": [entry]})
                elif self.path == "/props" and server.props:
                    self._send(
                        200,
                        {
                            "build_info": "b0000-fake",
                            "model_path": f"/models/{server.model}.gguf",
                            "total_slots": 64,
                            "default_generation_settings": {"n_ctx": 8192},
                        },
                    )
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                number = server.count_arrival(payload)
                self._counted = True
                try:
                    self._reply(number, payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away
                finally:
                    self._leave()

            def _leave(self) -> None:
                # Before the last bytes go out: a client that sends its next request at once
                # must not find this one still counted as in flight.
                if self._counted:
                    self._counted = False
                    server.count_departure()

            def _reply(self, number: int, payload: dict[str, Any]) -> None:
                fault = server.faults.by_request.get(number)
                if fault == "429":
                    retry = f"{server.faults.retry_after:g}"
                    self._leave()
                    self._send(429, {"error": {"message": "Too many requests"}}, {"Retry-After": retry})
                    return
                if fault is not None and fault not in ("drop", "malformed", "stall"):
                    self._leave()
                if fault == "503":
                    self._send(503, {"error": {"message": "Service unavailable"}})
                    return
                if fault == "400":
                    message = "This model's maximum context length is 8192 tokens; your request asked for more."
                    self._send(400, {"error": {"message": message}})
                    return
                if fault == "401":
                    self._send(401, {"error": {"message": "Invalid API key"}})
                    return
                if fault == "404":
                    self._send(404, {"error": {"message": f"The model {payload.get('model')} does not exist"}})
                    return
                if payload.get("model") != server.model:
                    self._send(404, {"error": {"message": f"The model {payload.get('model')} does not exist"}})
                    return
                messages = payload.get("messages") or []
                thinking, answer = server.answer(messages, int(payload.get("seed", 0)))
                if not (payload.get("chat_template_kwargs") or {}).get("enable_thinking", True):
                    thinking = ""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                if fault == "stall":
                    server.release.wait(server.faults.stall_seconds)
                    return
                pieces = _split(answer, server.chunks)
                pause = server.latency / (len(pieces) + 1)
                if server.release.wait(pause):
                    return  # the server stopped: the stream ends without a finish
                if thinking:
                    self._event({"reasoning_content": thinking}, None)
                for index, piece in enumerate(pieces):
                    if fault == "drop" and index == len(pieces) // 2:
                        return  # the connection closes mid-reply
                    if fault == "malformed" and index == len(pieces) // 2:
                        self.wfile.write(b'data: {"choices": [{"delta": {"content": "x"\n\n')
                        self.wfile.flush()
                        return
                    self._event({"content": piece}, None)
                    if server.release.wait(pause):
                        return
                tokens = len(answer.split()) + len(thinking.split())
                usage = {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens}
                server.count_completion()
                self._leave()
                self._event({}, "stop", usage=usage)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, delta: dict[str, Any], finish: str | None, **extra: Any) -> None:
                data = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "model": server.model,
                    "system_fingerprint": FINGERPRINT,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    **extra,
                }
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

        return Handler


def _split(text: str, parts: int) -> list[str]:
    size = max(1, -(-len(text) // parts))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    """Serve until killed (for benchmarks that want the server in its own process)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per reply")
    parser.add_argument("--model", default="fake-qwen3")
    args = parser.parse_args(argv)
    server = FakeEvalServer(latency=args.latency, model=args.model, port=args.port).start()
    print(server.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
