"""Run llama-cpp-python's OpenAI-compatible server on 127.0.0.1 (tests, benchmarks).

Needs the ``server`` extra of llama-cpp-python (in Quillpad's ``dev`` extra).
The server is a real subprocess in its own process group; ``stop()`` and the
context manager always end it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from app.core.errors import QuillpadError

READY_SECONDS = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LlamaServer:
    """llama-cpp-python's server (through ``serve_llama``) serving one GGUF file on 127.0.0.1."""

    def __init__(
        self,
        model: str | Path,
        *,
        api_key: str | None = None,
        alias: str | None = None,
        threads: int = 1,
        log_path: Path | None = None,
        interrupt_requests: bool = True,
    ) -> None:
        self.model = Path(model)
        self.api_key = api_key
        self.alias = alias or self.model.name
        self.threads = threads
        self.port = free_port()
        self.log_path = log_path
        # By default this server cuts a reply short when another request arrives; off, requests queue.
        self.interrupt_requests = interrupt_requests
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        """Start the server and wait until it answers ``/v1/models``."""
        command = [
            sys.executable,
            "-m",
            "app.core.bench.serve_llama",
            "--model",
            str(self.model),
            "--model_alias",
            self.alias,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--n_threads",
            str(self.threads),
            "--n_ctx",
            "2048",
            "--verbose",
            "false",
        ]
        if self.api_key:
            command += ["--api_key", self.api_key]
        if not self.interrupt_requests:
            command += ["--interrupt_requests", "false"]
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
            )
        finally:
            if not isinstance(log, int):  # a file we opened, not DEVNULL
                log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        deadline = time.monotonic() + READY_SECONDS
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self.stop()
                    raise QuillpadError(
                        f"llama-cpp-python's server exited at start (code {self.process.returncode}); "
                        "is the 'server' extra installed?"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(self.base_url + "/models", headers=headers).status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise QuillpadError(f"llama-cpp-python's server did not start within {READY_SECONDS:g} s.")

    def kill(self) -> None:
        """End the server at once (SIGKILL), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """End the server (politely, then by force) and reap it."""
        if self.process is None:
            return
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process.wait(10)

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
