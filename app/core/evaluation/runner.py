"""One evaluation run: generate, score, store, report; resumable and cancellable.

The model answers one task at a time (one engine); scoring runs on a pool of
``workers`` threads, each scoring in its own sandboxed process, so code runs
in parallel with the next generation. ``--canonical`` and ``--empty`` skip
the model and put the dataset's own solution (or nothing) through the very
same scoring path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
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
from app.core.evaluation.generation import EvaluationCancelled, Generation, ModelCrashed, generate
from app.core.evaluation.prompts import PROMPT_VERSION, build_messages, prompt_text
from app.core.evaluation.report import build_report, write_report
from app.core.evaluation.scoring import DEFAULT_TIMEOUT, Score, run_code, score_code_reply, score_math_reply
from app.core.evaluation.store import RunStore, fingerprint, result_key
from app.core.evaluation.tasks import EvalTask, TaskKind
from app.core.sandbox.runner import isolation_support

Mode = Literal["model", "canonical", "empty"]


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


@dataclass(frozen=True)
class ModelSetup:
    """How the model runs, for the report and the fingerprint."""

    facts: dict[str, Any]
    load: dict[str, Any]
    sampling: dict[str, Any]
    thinking: bool
    profile: str
    load_seconds: float = 0.0  # how long loading took (reported, not part of the settings)


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


@dataclass(frozen=True)
class Outcome:
    """How a run ended and where its report is."""

    report: dict[str, Any]
    folder: Path
    cancelled: bool


def _settings(config: EvalConfig, dataset: Dataset, setup: ModelSetup | None) -> dict[str, Any]:
    return {
        "kind": config.kind,
        "mode": config.mode,
        "dataset_sha256": dataset.sha256,
        "model_sha256": setup.facts["sha256"] if setup else None,
        "thinking": setup.thinking if setup else None,
        "sampling": setup.sampling if setup else None,
        "load": setup.load if setup else None,
        "max_tokens": config.max_tokens,
        "timeout": config.timeout,
        "prompt_version": PROMPT_VERSION,
    }


class EvalRun:
    """Runs ``config`` over ``dataset`` into ``folder``; ``cancel()`` is safe from any thread."""

    def __init__(
        self,
        config: EvalConfig,
        dataset: Dataset,
        folder: str | Path,
        *,
        client: ModelClient | None = None,
        setup: ModelSetup | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        config.validate()
        if config.mode == "model" and (client is None or setup is None):
            raise InvalidOptionError("A model run needs a loaded model; pass --model FILE (or use --canonical).")
        self.config = config
        self.dataset = dataset
        self.store = RunStore(folder)
        self.client = client
        self.setup = setup
        self.on_progress = on_progress
        self._cancel = threading.Event()
        self._passed = 0
        self._done = 0
        self._resumed = 0
        self._total = 0

    def cancel(self) -> None:
        """Stop soon: the reply in progress is stopped, finished tasks are kept."""
        self._cancel.set()
        if self.client is not None:
            self.client.stop()

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
            "model": self.setup.facts if self.setup else None,
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
        judge = AnswerJudge()
        crash: ModelCrashed | None = None
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
            sessions = [
                *manifest["sessions"],
                {
                    "started": started_at,
                    "seconds": round(time.monotonic() - started, 3),
                    "tasks_finished": self._done - len(already),
                    "cancelled": self.cancelled,
                },
            ]
            manifest["sessions"] = sessions
            self.store.write_manifest(manifest)
        report = build_report(manifest, self.dataset, tasks, self.store.results)
        write_report(self.store.folder, report)
        if crash is not None:
            raise ModelCrashed(f"{crash} The results so far are in {self.store.folder}; run again to continue.")
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
        assert self.client is not None and self.setup is not None
        pending: set[Future[dict[str, Any]]] = set()
        try:
            for seed, task in todo:
                if self._cancel.is_set():
                    break
                messages = build_messages(task)
                try:
                    generation = generate(
                        self.client,
                        messages,
                        thinking=self.setup.thinking,
                        seed=seed,
                        max_tokens=self.config.max_tokens,
                    )
                except EvaluationCancelled:
                    self._cancel.set()
                    break
                if self._cancel.is_set():
                    break  # stopped at the very end of a reply: do not score a cut-off answer
                pending.add(pool.submit(self._score_generation, seed, task, prompt_text(messages), generation, judge))
                pending = self._collect(pending, block=len(pending) >= 2 * self.config.workers)
        finally:
            while pending:
                pending = self._collect(pending, block=True)

    def _collect(self, pending: set[Future[dict[str, Any]]], *, block: bool) -> set[Future[dict[str, Any]]]:
        finished, rest = wait(pending, timeout=None if block else 0, return_when=FIRST_COMPLETED)
        for future in finished:
            self._finish(future.result())
        return rest

    def _finish(self, record: dict[str, Any]) -> None:
        self.store.append(record)
        self._done += 1
        self._passed += bool(record["passed"])
        if self.on_progress is not None:
            self.on_progress(Progress(self._done, self._total, self._passed, self._resumed, record))

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
        if generation.finish == "error":
            score = Score(False, f"model error: {generation.error}", None, "")
        else:
            score = self._score(task, generation.answer, judge)
        return self._record(seed, task, prompt, generation.answer, generation.thinking, score, generation)

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
