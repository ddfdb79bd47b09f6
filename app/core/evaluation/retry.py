"""Asking a model server again when it hiccups: backoff with jitter, ``Retry-After``, a deadline per request.

A lost connection, a stream closed early, a malformed event, HTTP 429 or 5xx
(``EngineError.transient``) and a request past its deadline are asked again
up to ``max_retries`` times, waiting about ``base × 2^attempt`` seconds (capped,
with jitter so many requests do not return in lockstep) or longer when
the server says so with ``Retry-After``. A key the server refuses (401/403)
or a model it does not have (404) ends the run at once: no retry can fix
them. What still fails after the retries comes back as a ``Generation``
with ``finish == "error"`` and ``transient`` set, which the run records as an
error (not a model failure) and asks again on the next resume.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from app.core.engine.model_client import ModelClient
from app.core.engine.options import ChatMessage, InvalidOptionError
from app.core.evaluation.generation import EvaluationCancelled, Generation, ModelCrashed, generate

FATAL_STATUSES = frozenset({401, 403, 404})
MAX_RETRIES = 20
# A stream that ends with [DONE] but never says why the reply finished was cut short by the server.
CUT_SHORT = (
    "The model server ended a reply without a finish reason, so it was cut short (llama-cpp-python's server "
    "does this to a reply when another request arrives: start it with --interrupt_requests False, or use "
    "--concurrency 1)."
)


class ServerRefused(ModelCrashed):
    """The server refuses every request (bad key, unknown model): the run stops and can be resumed."""


@runtime_checkable
class ReportsReplyFacts(Protocol):
    """A client that knows what the server said about itself in its latest reply."""

    def reply_facts(self) -> dict[str, str]:
        """``model`` and ``system_fingerprint`` of the latest reply, where the server sent them."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to ask again."""

    max_retries: int = 3
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    retry_after_cap: float = 300.0  # a Retry-After beyond this is not waited for in full
    request_timeout: float | None = None  # seconds per request, all of it; None: no deadline

    def validate(self) -> None:
        """Raise ``InvalidOptionError`` for values that cannot work."""
        if not 0 <= self.max_retries <= MAX_RETRIES:
            raise InvalidOptionError(f"--max-retries must be between 0 and {MAX_RETRIES} (got {self.max_retries}).")
        if self.request_timeout is not None and not 0 < self.request_timeout <= 86400:
            raise InvalidOptionError(
                f"The request timeout must be between 0 and 86400 seconds (got {self.request_timeout:g})."
            )

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 0)."""
        # "Equal jitter": half the exponential step for sure, half at random, so retries
        # spread out yet still span a short server restart (full jitter can retry thrice in 50 ms).
        step = min(self.cap_seconds, self.base_seconds * 2.0**attempt)
        backoff = step / 2 + rng.uniform(0, step / 2)
        if retry_after is not None:
            return max(backoff, min(retry_after, self.retry_after_cap))
        return backoff


def generate_with_retries(
    client: ModelClient,
    messages: tuple[ChatMessage, ...],
    *,
    thinking: bool | None,
    seed: int,
    max_tokens: int | None,
    policy: RetryPolicy,
    cancelled: threading.Event,
    rng: random.Random | None = None,
    on_retry: Callable[[str], None] | None = None,
) -> Generation:
    """One reply, asked again on transient failures; ``attempts`` and ``request_seconds`` say what it took.

    Raises ``EvaluationCancelled`` when the run is cancelled, ``ModelCrashed``
    when a local engine died, ``ServerRefused`` for a refused key or unknown model.
    """
    rng = rng or random.Random()
    started = time.monotonic()
    attempt = 0
    while True:
        timed_out = threading.Event()
        timer: threading.Timer | None = None
        if policy.request_timeout is not None:
            timer = threading.Timer(policy.request_timeout, _expire, args=(client, timed_out))
            timer.daemon = True
            timer.start()
        try:
            generation = generate(client, messages, thinking=thinking, seed=seed, max_tokens=max_tokens)
        except EvaluationCancelled:
            if cancelled.is_set() or not timed_out.is_set():
                raise
            assert policy.request_timeout is not None
            generation = Generation(
                "",
                "",
                "error",
                error=f"The reply did not finish within the request timeout of {policy.request_timeout:g} s.",
                transient=True,
                seconds=policy.request_timeout,
            )
        finally:
            if timer is not None:
                timer.cancel()
                timer.join()  # a deadline firing just now must not stop this client's next reply
        if isinstance(client, ReportsReplyFacts):
            facts = client.reply_facts()
            generation = replace(generation, server_facts=facts)
            if generation.finish != "error" and not facts.get("finish_reason"):
                generation = replace(generation, finish="error", error=CUT_SHORT, transient=True)
        if generation.finish == "error" and generation.status in FATAL_STATUSES:
            raise ServerRefused(generation.error)
        if generation.finish != "error" or not generation.transient or attempt >= policy.max_retries:
            return replace(generation, attempts=attempt + 1, request_seconds=time.monotonic() - started)
        wait = policy.delay(attempt, generation.retry_after, rng)
        if on_retry is not None:
            on_retry(f"{generation.error} Asking again in {wait:.1f} s (retry {attempt + 1} of {policy.max_retries}).")
        if cancelled.wait(wait):
            raise EvaluationCancelled("The evaluation was cancelled.")
        attempt += 1


def _expire(client: ModelClient, flag: threading.Event) -> None:
    flag.set()
    client.stop()
