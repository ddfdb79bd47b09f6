"""One evaluation run off the GUI thread (through ``app.ui.tasks``), reporting plain data.

The run has its own ``EngineOwner`` (its own worker process) rather than the
window's: a run of hundreds of tasks must not hold the chat's engine for an
hour, must load with exactly the options the report states (the chat's
engine may have been loaded with others and carries a conversation cache),
and a crash during the run must not take the chat down. The weights are
memory-mapped, so a second process on the same file shares them in the page
cache; what it adds is its own KV cache.

A run on a model server (a connection profile) opens its own connections,
``concurrency`` of them, through the same core code as ``quillpad eval
--profile``; the chat's connection is left alone.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from app.core.engine import LoadOptions, SamplingOverrides
from app.core.engine.model_client import EngineModelClient
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.errors import QuillpadError
from app.core.evaluation.datasets import Dataset, load_dataset
from app.core.evaluation.runner import EvalConfig, EvalRun, Progress, describe_loaded
from app.core.evaluation.store import server_run_folder
from app.core.settings import ConnectionProfile
from app.ui.tasks import TaskToken


@dataclass(frozen=True)
class EvalRequest:
    """Everything one run needs, as plain data."""

    config: EvalConfig
    out: str
    model: str | None = None
    data: str | None = None
    load: LoadOptions = field(default_factory=LoadOptions)
    sampling: SamplingOverrides = field(default_factory=SamplingOverrides)
    server: ConnectionProfile | None = None  # a model server's profile; None: a local GGUF


# What a run ends with: its report (None when cancelled before it began) and whether it was cancelled.
EvalOutcome = tuple[dict[str, Any] | None, bool]


@dataclass(frozen=True)
class RunFolder:
    """Reported once a server run knows its folder (the served model's name is in it)."""

    path: str


class EvalWork:
    """One ``EvalRequest`` as work for ``app.ui.tasks``: it reports stage texts (str),
    ``Progress`` and, for a server run, its ``RunFolder``; ``cancel()`` is safe from the GUI
    thread at any stage."""

    def __init__(self, request: EvalRequest) -> None:
        self.request = request
        self._lock = threading.Lock()
        self._cancelled = False
        self._engine: EngineOwner | None = None
        self._run: EvalRun | None = None

    def cancel(self) -> None:
        """Stop the run (finished tasks are kept, and reported); while the model loads, end the engine."""
        with self._lock:
            self._cancelled = True
            if self._run is not None:
                self._run.cancel()
            elif self._engine is not None:
                self._engine.kill()

    def __call__(self, token: TaskToken) -> EvalOutcome:
        token.on_cancel(self.cancel)  # closing the window
        try:
            return self._work(token)
        except QuillpadError:
            if self._cancelled:  # the killed engine's error: the cancel, not a failure
                return None, True
            raise

    def _work(self, token: TaskToken) -> EvalOutcome:
        request = self.request
        token.report("Reading the tasks…")
        dataset = load_dataset(request.config.kind, request.data)
        if request.config.mode != "model":
            return self._start(EvalRun(request.config, dataset, request.out, on_progress=token.report), token)
        if request.server is not None:
            return self._run_on_server(request, dataset, request.server, token)
        if not request.model:
            raise QuillpadError("Choose the GGUF model to evaluate, or run a self-check.")
        with EngineOwner() as engine:
            with self._lock:
                if self._cancelled:
                    return None, True
                self._engine = engine
            token.report("Loading the model…")
            loading = time.monotonic()
            loaded = engine.load(request.model, request.load)
            token.report("Hashing the model file…")
            setup = describe_loaded(loaded, request.config.thinking, request.sampling, time.monotonic() - loading)
            client = EngineModelClient(engine, RequestDefaults(sampling=request.sampling), purpose="evaluation")
            run = EvalRun(request.config, dataset, request.out, client=client, setup=setup, on_progress=token.report)
            return self._start(run, token)

    def _run_on_server(
        self, request: EvalRequest, dataset: Dataset, profile: ConnectionProfile, token: TaskToken
    ) -> EvalOutcome:
        from app.core.evaluation.server import connect_server
        from app.core.remote.keys import KeyStore
        from app.core.remote.profiles import profile_config

        token.report(f"Connecting to {profile.name}…")
        config = profile_config(profile, KeyStore())
        if request.model:
            config = replace(config, model=request.model)
        connection = connect_server(
            config,
            concurrency=request.config.concurrency,
            thinking=request.config.thinking,
            overrides=request.sampling,
            max_tokens=request.config.max_tokens,
            max_retries=request.config.max_retries,
            request_timeout=request.config.request_timeout,
        )
        try:
            with self._lock:
                if self._cancelled:
                    return None, True
            out = request.out or str(
                server_run_folder(request.config.kind, connection.remote.model, request.config.thinking)
            )
            token.report(RunFolder(out))
            run = EvalRun(
                request.config,
                dataset,
                out,
                clients=connection.clients,
                setup=connection.setup,
                on_progress=token.report,
            )
            return self._start(run, token)
        finally:
            connection.close()

    def _start(self, run: EvalRun, token: TaskToken) -> EvalOutcome:
        with self._lock:
            self._run = run
            if self._cancelled:
                run.cancel()
        token.report("Running…")
        outcome = run.run()
        return outcome.report, outcome.cancelled


def progress_text(progress: Progress) -> str:
    """``12/164 done, 10 passed`` (and how many were kept from an earlier run)."""
    text = f"{progress.done}/{progress.total} done, {progress.passed} passed"
    text += f" ({progress.resumed} from an earlier run)" if progress.resumed else ""
    if progress.errors:
        text += f", {progress.errors} lost to the server (asked again on the next run)"
    rates = progress.throughput
    if rates.get("requests", 0) > 1:
        text += f" — {rates['requests_per_second']:.2f} requests/s, {rates['output_tokens_per_second']:.0f} tokens/s"
    return text
