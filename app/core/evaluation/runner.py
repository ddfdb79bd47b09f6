"""One evaluation run: generate, score, store, report; resumable and cancellable.

A local model answers one task at a time (one engine); a model server gets
``concurrency`` requests at once, one per client. Scoring runs beside them on
a pool of ``workers`` threads, each scoring in its own sandboxed process, and
each result is appended as soon as it is scored, in whatever order tasks
finish. A server's hiccups are asked again (``retry.py``); a task that still
fails is stored as an error, which is not a model failure: it is left out of
the scores and asked again when the run resumes. ``--canonical`` and
``--empty`` skip the model and put the dataset's own solution (or nothing)
through the very same scoring path.
"""

from __future__ import annotations

import contextlib
import queue
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from app.core.engine.client import LoadedModel
from app.core.engine.model_client import ModelClient
from app.core.engine.options import InvalidOptionError, SamplingOverrides
from app.core.errors import QuillpadError
from app.core.evaluation.datasets import Dataset
from app.core.evaluation.environment import hardware_facts, model_facts, software_facts
from app.core.evaluation.equivalence import AnswerJudge
from app.core.evaluation.generation import EvaluationCancelled, Generation, ModelCrashed
from app.core.evaluation.prompts import PROMPT_VERSION, build_messages, prompt_text
from app.core.evaluation.report import build_report, write_report
from app.core.evaluation.retry import RetryPolicy, generate_with_retries
from app.core.evaluation.scoring import DEFAULT_TIMEOUT, Score, run_code, score_code_reply, score_math_reply
from app.core.evaluation.store import RunStore, fingerprint, result_key
from app.core.evaluation.tasks import EvalTask, TaskKind
from app.core.evaluation.throughput import throughput
from app.core.paths import app_paths
from app.core.refs.contamination import add_reference_hints, index_check
from app.core.sandbox.runner import isolation_support

Mode = Literal["model", "canonical", "empty"]
MAX_CONCURRENCY = 256
RATES_SECONDS = 0.5  # how often progress recomputes the throughput figures


class IsolationRefused(QuillpadError):
    """Code tasks would run without isolation and the user did not pass --unsafe-no-isolation."""


@dataclass(frozen=True)
class EvalConfig:
    """What to run; validated by ``validate``."""

    kind: TaskKind
    mode: Mode = "model"
    seeds: tuple[int, ...] = (1,)
    limit: int | None = None
    thinking: bool | None = None  # None: the model profile's default
    max_tokens: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    workers: int = 2
    fresh: bool = False
    concurrency: int = 1  # requests in flight (a model server; a local engine answers one at a time)
    max_retries: int = 3  # per request, on a server's transient failures
    request_timeout: float | None = None  # seconds per request (all of it); None: no deadline
    # Run model-written code with limits only where the sandbox cannot isolate it.
    unsafe_no_isolation: bool = False

    def validate(self) -> None:
        """Raise ``InvalidOptionError`` for values that cannot run."""
        if not self.seeds:
            raise InvalidOptionError("Give at least one seed, for example --seeds 1,2,3.")
        if any(seed < 0 for seed in self.seeds) or len(set(self.seeds)) != len(self.seeds):
            raise InvalidOptionError("Seeds must be distinct non-negative numbers, for example --seeds 1,2,3.")
        if self.limit is not None and self.limit <= 0:
            raise InvalidOptionError(f"The task limit must be at least 1 (got {self.limit}).")
        if self.workers <= 0:
            raise InvalidOptionError(f"Workers must be at least 1 (got {self.workers}).")
        if not 0 < self.timeout <= 3600:
            raise InvalidOptionError(f"The per-task timeout must be between 0 and 3600 seconds (got {self.timeout}).")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise InvalidOptionError(f"The token limit must be at least 1 (got {self.max_tokens}).")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise InvalidOptionError(
                f"--concurrency must be between 1 and {MAX_CONCURRENCY} requests in flight (got {self.concurrency})."
            )
        self.retry_policy().validate()

    def retry_policy(self) -> RetryPolicy:
        """How requests are asked again."""
        return RetryPolicy(max_retries=self.max_retries, request_timeout=self.request_timeout)


@dataclass(frozen=True)
class ModelSetup:
    """How the model runs, for the report and the fingerprint."""

    facts: dict[str, Any]
    load: dict[str, Any]
    sampling: dict[str, Any]
    thinking: bool
    profile: str
    load_seconds: float = 0.0  # how long loading took (reported, not part of the settings)
    server: dict[str, Any] | None = None  # a model server's provenance (None: a local GGUF)


def describe_loaded(
    loaded: LoadedModel,
    thinking: bool | None,
    overrides: SamplingOverrides | None = None,
    load_seconds: float = 0.0,
) -> ModelSetup:
    """The setup of a model the engine has loaded, with the sampling values it will really use."""
    resolved = loaded.profile.thinking_default if thinking is None else thinking
    sampling = asdict(loaded.profile.sampling(resolved, overrides))
    load = {
        "context_length": loaded.context_length,
        "threads": loaded.threads,
        "gpu_layers": loaded.options.gpu_layers,
        "flash_attention": loaded.options.flash_attention,
        "batch_size": loaded.options.batch_size,
    }
    facts = model_facts(loaded.info.path)
    return ModelSetup(facts, load, sampling, resolved, loaded.profile.name, round(load_seconds, 3))


@dataclass(frozen=True)
class Progress:
    """Where a run stands, as plain data (the GUI draws it, the CLI prints it)."""

    done: int
    total: int
    passed: int
    resumed: int
    last: dict[str, Any] = field(default_factory=dict)  # the record just finished
    errors: int = 0  # tasks that failed for the server's sake (asked again on resume)
    throughput: dict[str, Any] = field(default_factory=dict)  # this session's requests/s, tokens/s, latency


@dataclass(frozen=True)
class Outcome:
    """How a run ended and where its report is."""

    report: dict[str, Any]
    folder: Path
    cancelled: bool


def _settings(config: EvalConfig, dataset: Dataset, setup: ModelSetup | None) -> dict[str, Any]:
    settings = {
        "kind": config.kind,
        "mode": config.mode,
        "dataset_sha256": dataset.sha256,
        "model_sha256": setup.facts.get("sha256") if setup else None,
        "thinking": setup.thinking if setup else None,
        "sampling": setup.sampling if setup else None,
        "load": setup.load if setup else None,
        "max_tokens": config.max_tokens,
        "timeout": config.timeout,
        "prompt_version": PROMPT_VERSION,
    }
    if setup is not None and setup.server is not None:
        # A server's run continues on the same served model, wherever the server now listens.
        settings["served_model"] = setup.server["model"]
        settings["request"] = setup.server["request"]
    return settings


class EvalRun:
    """Runs ``config`` over ``dataset`` into ``folder``; ``cancel()`` is safe from any thread."""

    def __init__(
        self,
        config: EvalConfig,
        dataset: Dataset,
        folder: str | Path,
        *,
        client: ModelClient | None = None,
        clients: Sequence[ModelClient] = (),
        setup: ModelSetup | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        """``client`` asks one request at a time; ``clients`` (one per request in flight) for a server."""
        config.validate()
        self.clients = list(clients) or ([client] if client is not None else [])
        if config.mode == "model" and (not self.clients or setup is None):
            raise InvalidOptionError("A model run needs a loaded model; pass --model FILE (or use --canonical).")
        if config.mode == "model" and config.concurrency > len(self.clients):
            raise InvalidOptionError(
                "A local model answers one request at a time; --concurrency is for a model server "
                "(--server URL or --profile NAME)."
            )
        self.config = config
        self.dataset = dataset
        self.store = RunStore(folder)
        self.client = self.clients[0] if self.clients else None
        self.setup = setup
        self.on_progress = on_progress
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._passed = 0
        self._done = 0
        self._resumed = 0
        self._total = 0
        self._errors = 0
        self._session_records: list[dict[str, Any]] = []
        self._session_started = time.monotonic()
        self._rates: dict[str, Any] = {}
        self._rates_at = 0.0

    def cancel(self) -> None:
        """Stop soon: the replies in progress are stopped, finished tasks are kept."""
        self._cancel.set()
        for client in self.clients:
            client.stop()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _manifest(self) -> dict[str, Any]:
        settings = _settings(self.config, self.dataset, self.setup)
        old = self.store.read_manifest() or {}
        return {
            "fingerprint": fingerprint(settings),
            "settings": settings,
            "config": {**asdict(self.config), "seeds": list(self.config.seeds)},
            "dataset": {"source": self.dataset.source, "sha256": self.dataset.sha256, "tasks": len(self.dataset.tasks)},
            "model": self.setup.facts if self.setup and self.setup.server is None else None,
            "server": self.setup.server if self.setup else None,
            "profile": self.setup.profile if self.setup else None,
            "model_load_seconds": self.setup.load_seconds if self.setup else None,
            "software": software_facts(),
            "hardware": hardware_facts(),
            "sessions": old.get("sessions", []) if not self.config.fresh else [],
        }

    def _sandbox(self) -> dict[str, str]:
        """How code tasks are isolated; refuses untrusted code without isolation unless the user said so."""
        if not any(task.is_code for task in self.dataset.tasks):
            return {"isolation": "not used", "description": "not used (answers are compared; no code runs)"}
        support = isolation_support()
        if not support.isolated and not self.config.unsafe_no_isolation:
            raise IsolationRefused(support.eval_refusal)
        return {"isolation": support.mode, "description": support.description}

    def run(self) -> Outcome:
        """Run to the end (or until cancelled) and write the report; returns the outcome."""
        started, started_at = time.monotonic(), datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._session_started = started
        sandbox = self._sandbox()
        manifest = {**self._manifest(), "sandbox": sandbox}
        self.store.open(manifest, fresh=self.config.fresh)
        tasks = self.dataset.limited(self.config.limit)
        pairs = [(seed, task) for seed in self.config.seeds for task in tasks]
        self._total = len(pairs)
        already = [(s, t) for s, t in pairs if self.store.done(t.task_id, s)]
        self._done = self._resumed = len(already)
        self._passed = sum(bool(self.store.results[result_key(t.task_id, s)]["passed"]) for s, t in already)
        todo = [(s, t) for s, t in pairs if not self.store.done(t.task_id, s)]
        if self.on_progress is not None:  # where the run starts (a resumed run shows its kept results)
            self.on_progress(Progress(self._done, self._total, self._passed, self._resumed))
        crash: ModelCrashed | None = None
        judge = AnswerJudge()
        try:
            with ThreadPoolExecutor(max_workers=self.config.workers, thread_name_prefix="eval-score") as pool:
                if self.config.mode == "model":
                    self._run_model(todo, pool, judge)
                else:
                    self._run_reference(todo, pool, judge)
        except ModelCrashed as err:
            crash = err  # the finished tasks still get their report; a re-run continues
        finally:
            judge.close()
            seconds = time.monotonic() - started
            session: dict[str, Any] = {
                "started": started_at,
                "seconds": round(seconds, 3),
                "tasks_finished": self._done - len(already),
                "cancelled": self.cancelled,
            }
            if self.config.mode == "model":
                session.update(
                    concurrency=min(self.config.concurrency, len(self.clients)),
                    requests=len(self._session_records),
                    errors=self._errors,
                    output_tokens=sum(int(r.get("completion_tokens", 0)) for r in self._session_records),
                )
            sessions = [*manifest["sessions"], session]
            manifest["sessions"] = sessions
            self.store.write_manifest(manifest)
        report = build_report(manifest, self.dataset, tasks, self.store.results)
        with index_check(app_paths()) as check:
            if check is not None:
                report = add_reference_hints(report, check)
        write_report(self.store.folder, report)
        if crash is not None:
            raise type(crash)(f"{crash} The results so far are in {self.store.folder}; run again to continue.")
        return Outcome(report, self.store.folder, self.cancelled)

    # -- the two ways of producing answers --------------------------------------

    def _run_reference(self, todo: list[tuple[int, EvalTask]], pool: ThreadPoolExecutor, judge: AnswerJudge) -> None:
        futures = [pool.submit(self._score_reference, seed, task, judge) for seed, task in todo]
        pending: set[Future[dict[str, Any]]] = set(futures)
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for future in finished:
                if not future.cancelled():
                    self._finish(future.result())
            if self._cancel.is_set():
                for future in pending:
                    future.cancel()

    def _run_model(self, todo: list[tuple[int, EvalTask]], pool: ThreadPoolExecutor, judge: AnswerJudge) -> None:
        """Ask with ``concurrency`` requests in flight; score each reply beside them as it arrives."""
        assert self.setup is not None
        width = min(self.config.concurrency, len(self.clients))
        free: queue.SimpleQueue[ModelClient] = queue.SimpleQueue()
        for client in self.clients[:width]:
            free.put(client)
        items = iter(todo)
        asking: set[Future[Any]] = set()  # replies: (seed, task, prompt, generation) or None
        scoring: set[Future[Any]] = set()  # records
        failure: ModelCrashed | None = None
        # Consecutive tasks lost to the server: a server that stays down ends the run rather than
        # marking every remaining task as an error.
        lost_in_a_row = 0
        with ThreadPoolExecutor(max_workers=width, thread_name_prefix="eval-ask") as askers:
            try:
                while True:
                    # Scoring may lag behind fast replies (code tasks): ask no further ahead than it can follow.
                    backlog = 2 * self.config.workers + width
                    while (
                        not self._cancel.is_set() and failure is None and len(asking) < width and len(scoring) < backlog
                    ):
                        item = next(items, None)
                        if item is None:
                            break
                        asking.add(askers.submit(self._ask, item[0], item[1], free))
                    if not asking and not scoring:
                        break
                    finished, _ = wait(asking | scoring, timeout=0.5, return_when=FIRST_COMPLETED)
                    for future in finished:
                        if future in scoring:
                            scoring.discard(future)
                            self._finish(future.result())
                            continue
                        asking.discard(future)
                        try:
                            asked = future.result()
                        except EvaluationCancelled:
                            self._cancel.set()
                            continue
                        except ModelCrashed as err:
                            failure = failure or err
                            self._stop_clients()
                            continue
                        if asked is None:
                            continue
                        seed, task, prompt, generation = asked
                        if generation.server_failed:
                            lost_in_a_row += 1
                        else:
                            lost_in_a_row = 0
                        scoring.add(pool.submit(self._score_generation, seed, task, prompt, generation, judge))
                        if failure is None and lost_in_a_row >= max(4, 2 * width):
                            failure = ModelCrashed(
                                f"The model server failed {lost_in_a_row} tasks in a row (the last after "
                                f"{generation.attempts} attempt(s): {generation.error}), so the run stopped; "
                                "check the server."
                            )
                            self._stop_clients()
            finally:
                if failure is not None or self._cancel.is_set():
                    self._stop_clients()
                for future in asking:
                    future.cancel()
                done_asking = [f for f in asking if not f.cancelled()]
                for future in done_asking:
                    with contextlib.suppress(Exception):
                        asked = future.result()
                        # A reply that finished on its own before the stop is kept: it is a real result.
                        if asked is not None and failure is None and not self._cancel.is_set():
                            seed, task, prompt, generation = asked
                            scoring.add(pool.submit(self._score_generation, seed, task, prompt, generation, judge))
                while scoring:
                    finished, scoring = wait(scoring, return_when=FIRST_COMPLETED)
                    for future in finished:
                        self._finish(future.result())
        if failure is not None:
            raise failure

    def _throughput(self) -> dict[str, Any]:
        """This session's rates, recomputed at most every ``RATES_SECONDS`` (percentiles sort every record)."""
        if self.config.mode != "model":
            return {}
        now = time.monotonic()
        finished = self._done + self._errors - self._resumed
        if now - self._rates_at >= RATES_SECONDS or finished >= self._total - self._resumed:
            self._rates = throughput(self._session_records, now - self._session_started)
            self._rates_at = now
        return self._rates

    def _stop_clients(self) -> None:
        for client in self.clients:
            client.stop()

    def _ask(
        self, seed: int, task: EvalTask, free: queue.SimpleQueue[ModelClient]
    ) -> tuple[int, EvalTask, str, Generation] | None:
        """One task's reply on a free client (``None`` when the run was cancelled meanwhile)."""
        assert self.setup is not None
        client = free.get()
        try:
            if self._cancel.is_set():
                return None
            messages = build_messages(task)
            generation = generate_with_retries(
                client,
                messages,
                thinking=self.setup.thinking,
                seed=seed,
                max_tokens=self.config.max_tokens,
                policy=self.config.retry_policy(),
                cancelled=self._cancel,
                rng=random.Random(),
            )
            if self._cancel.is_set():
                return None  # stopped at the very end of a reply: do not score a cut-off answer
            return seed, task, prompt_text(messages), generation
        finally:
            free.put(client)

    def _finish(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.store.append(record)
            if record.get("error"):
                self._errors += 1
            else:
                self._done += 1
                self._passed += bool(record["passed"])
            if self.config.mode == "model":
                self._session_records.append(record)
            progress = Progress(
                self._done,
                self._total,
                self._passed,
                self._resumed,
                record,
                errors=self._errors,
                throughput=self._throughput(),
            )
        if self.on_progress is not None:
            self.on_progress(progress)

    # -- scoring -------------------------------------------------------------------

    def _score(self, task: EvalTask, reply: str, judge: AnswerJudge) -> Score:
        if task.is_code:
            return score_code_reply(task, reply, self.config.timeout, allow_unisolated=self.config.unsafe_no_isolation)
        return score_math_reply(task, reply, judge)

    def _score_reference(self, seed: int, task: EvalTask, judge: AnswerJudge) -> dict[str, Any]:
        if task.is_code:
            code = task.reference if self.config.mode == "canonical" else ""
            score = run_code(task, code, self.config.timeout, allow_unisolated=self.config.unsafe_no_isolation)
            score = Score(score.passed, score.reason, code, self.config.mode, score.stderr, score.seconds)
        else:
            reply = task.reference if self.config.mode == "canonical" else ""
            score = score_math_reply(task, reply, judge)
        return self._record(seed, task, "", task.reference if self.config.mode == "canonical" else "", "", score, None)

    def _score_generation(
        self, seed: int, task: EvalTask, prompt: str, generation: Generation, judge: AnswerJudge
    ) -> dict[str, Any]:
        if generation.server_failed:
            score = Score(False, f"server error: {generation.error}", None, "")
        elif generation.finish == "error":
            score = Score(False, f"model error: {generation.error}", None, "")
        else:
            score = self._score(task, generation.answer, judge)
        record = self._record(seed, task, prompt, generation.answer, generation.thinking, score, generation)
        if generation.server_failed:
            record["error"] = generation.error  # not a model failure: left out of the scores, asked again on resume
        if self.setup is not None and self.setup.server is not None:
            record["attempts"] = generation.attempts
            record["request_seconds"] = round(generation.request_seconds, 3)
            record["served_model"] = generation.server_facts.get("model")
            record["system_fingerprint"] = generation.server_facts.get("system_fingerprint")
        return record

    def _record(
        self,
        seed: int,
        task: EvalTask,
        prompt: str,
        output: str,
        thinking: str,
        score: Score,
        generation: Generation | None,
    ) -> dict[str, Any]:
        return {
            "task_id": task.task_id,
            "seed": seed,
            "passed": score.passed,
            "reason": score.reason,
            "extracted": score.extracted,
            "method": score.method,
            "expected": task.answer or None,
            "prompt": prompt,
            "output": output,
            "thinking": thinking,
            "thinking_chars": len(thinking),
            "thinking_tokens": generation.thinking_tokens if generation else 0,
            "completion_tokens": generation.completion_tokens if generation else 0,
            "prompt_tokens": generation.prompt_tokens if generation else 0,
            "finish": generation.finish if generation else None,
            "generation_seconds": round(generation.seconds, 3) if generation else 0.0,
            "score_seconds": round(score.seconds, 3),
            "stderr": score.stderr,
            **({"extra": task.extra} if task.extra else {}),
        }
