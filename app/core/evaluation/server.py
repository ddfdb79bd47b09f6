"""Evaluating on a model server: N connected clients and the report's provenance of the server.

The same ``RemoteBackend`` the chat uses answers every request (so thinking
goes through ``chat_template_kwargs.enable_thinking`` and ``reasoning_content``
/ ``reasoning`` / ``<think>`` are split exactly as in the chat); one backend
writes one reply at a time, so ``concurrency`` siblings keep that many
requests in flight. The sampling values are the model family's preset (as
for a local GGUF of the same model, so the two runs compare), all of them
sent explicitly, and recorded as sent.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from typing import Any

from app.core.engine.model_client import EngineModelClient
from app.core.engine.options import ChatMessage, ChatRequest, SamplingOverrides
from app.core.engine.owner import EngineOwner
from app.core.engine.profiles import profile_for
from app.core.engine.requests import RequestDefaults
from app.core.evaluation.runner import ModelSetup
from app.core.remote.client import RemoteBackend, RemoteModel, request_body
from app.core.remote.config import RemoteConfig
from app.core.remote.provenance import server_facts

DEFAULT_CONCURRENCY = 8
# Values of the request body that are not sampling (the messages vary per task).
NOT_SAMPLING = ("messages", "stream", "stream_options", "model")


class ServerModelClient(EngineModelClient):
    """``EngineModelClient`` over one ``RemoteBackend`` that also tells what the server said of itself."""

    def __init__(self, backend: RemoteBackend, *, sampling: SamplingOverrides) -> None:
        # One owner per connection: the siblings answer side by side, each its own queue.
        super().__init__(EngineOwner(remote=backend), RequestDefaults(sampling=sampling), purpose="evaluation")
        self.backend = backend

    def reply_facts(self) -> dict[str, str]:
        """The served model id, ``system_fingerprint`` and ``finish_reason`` of the latest reply, where sent."""
        facts = self.backend.last_reply
        found = {
            "model": facts.model,
            "system_fingerprint": facts.system_fingerprint,
            "finish_reason": facts.finish_reason,
        }
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class ServerConnection:
    """A connected server: the clients that ask it and the setup the report states."""

    remote: RemoteModel
    clients: tuple[ServerModelClient, ...]
    setup: ModelSetup

    def close(self) -> None:
        """Close every client's connection (nothing stays open after a run)."""
        for client in self.clients:
            client.backend.close()


def sampling_sent(model: str, thinking: bool, sampling: SamplingOverrides, max_tokens: int | None) -> dict[str, Any]:
    """Every value a request of this run sends besides the messages (``seed`` is each run's seed)."""
    probe = ChatRequest(
        (ChatMessage("user", "-"),), thinking=thinking, max_tokens=max_tokens, seed=0, sampling=sampling
    )
    body = request_body(probe, model)
    sent = {key: value for key, value in body.items() if key not in NOT_SAMPLING}
    sent["seed"] = "the run's seed"
    return sent


def connect_server(
    config: RemoteConfig,
    *,
    concurrency: int,
    thinking: bool | None,
    overrides: SamplingOverrides | None,
    max_tokens: int | None,
    max_retries: int,
    request_timeout: float | None,
) -> ServerConnection:
    """Connect, gather the server's facts, open ``concurrency`` clients.

    Raises ``RemoteServerError`` with the reason when the server cannot be used.
    """
    connecting = time.monotonic()
    if request_timeout is not None and request_timeout < config.read_timeout:
        config = replace(config, read_timeout=request_timeout)  # a silent server must not outlast the deadline
    first = RemoteBackend(config)
    remote = first.connect()
    backends = [first]
    try:
        backends += [first.sibling() for _ in range(concurrency - 1)]
        profile = profile_for("", remote.model)
        resolved = profile.thinking_default if thinking is None else thinking
        preset = profile.sampling(resolved, overrides)
        sampling = SamplingOverrides(**asdict(preset))
        facts = server_facts(config, remote.model)
    except BaseException:
        for backend in backends:
            backend.close()
        raise
    server = {
        **facts,
        "available_models": list(remote.available),
        "request": sampling_sent(remote.model, resolved, sampling, max_tokens),
        "concurrency": concurrency,
        "max_retries": max_retries,
        "request_timeout": request_timeout,
        "read_timeout": config.read_timeout,
    }
    setup = ModelSetup(
        facts={"sha256": None, "served_model": remote.model},
        load={},
        sampling=asdict(preset),
        thinking=resolved,
        profile=profile.name,
        load_seconds=round(time.monotonic() - connecting, 3),
        server=server,
    )
    clients = tuple(ServerModelClient(b, sampling=sampling) for b in backends)
    return ServerConnection(remote, clients, setup)
