"""Evaluation on a model server: N requests in flight against a fake parallel server that
injects 429/503/drops/malformed events/stalls and restarts mid-run; results must equal a
plain sequential run's, and a run cut short must resume without losing or doubling a task."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.bench.fake_eval_server import FakeEvalServer, FaultPlan
from app.core.engine.options import InvalidOptionError
from app.core.evaluation.datasets import load_dataset
from app.core.evaluation.generation import ModelCrashed
from app.core.evaluation.retry import RetryPolicy, ServerRefused
from app.core.evaluation.runner import EvalConfig, EvalRun, Outcome, Progress
from app.core.evaluation.server import ServerConnection, connect_server
from app.core.evaluation.store import RESULTS
from app.core.remote.config import RemoteConfig, RemoteServerError

GSM = load_dataset("gsm8k")
ANSWERS = {task.prompt: task.answer for task in GSM.tasks}
# Fields that depend on timing, retries or the order replies arrived in, not on what the model said.
TIMING = {"generation_seconds", "score_seconds", "request_seconds", "attempts"}


def gsm_answer(messages: list[dict[str, Any]], seed: int) -> tuple[str, str]:
    """Right on about half the (task, seed) pairs, decided by a hash: deterministic, order-free."""
    question = str(messages[-1]["content"]).rsplit("\nPlease reason", 1)[0]
    right = hashlib.sha256(f"{seed}:{question}".encode()).digest()[0] % 2 == 0
    answer = ANSWERS[question] if right else "-1"
    return f"<seed {seed}> adding it up", f"Step by step.\nSo the result is $\\boxed{{{answer}}}$."


@pytest.fixture
def server() -> Iterator[FakeEvalServer]:
    with FakeEvalServer(answer=gsm_answer, latency=0.05) as fake:
        yield fake


def _connect(url: str, concurrency: int, **kwargs: Any) -> ServerConnection:
    options: dict[str, Any] = {
        "thinking": True,
        "overrides": None,
        "max_tokens": 256,
        "max_retries": 3,
        "request_timeout": 20.0,
    }
    options.update(kwargs)
    return connect_server(RemoteConfig(url), concurrency=concurrency, **options)


def _run(url: str, folder: Path, concurrency: int, *, on_progress: Any = None, **config: Any) -> Outcome:
    connection = _connect(url, concurrency, max_retries=config.get("max_retries", 3))
    try:
        run_config = EvalConfig("gsm8k", seeds=(1, 2, 3), concurrency=concurrency, **config)
        run = EvalRun(
            run_config, GSM, folder, clients=connection.clients, setup=connection.setup, on_progress=on_progress
        )
        return run.run()
    finally:
        connection.close()


def _content(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in record.items() if k not in TIMING} for record in report["tasks"]]


def test_parallel_run_with_faults_and_a_restart_equals_a_sequential_run(server: FakeEvalServer, tmp_path: Path) -> None:
    sequential = _run(server.base_url, tmp_path / "seq", 1).report
    assert sequential["complete"] and sequential["tasks_finished"] == 30
    assert server.max_in_flight == 1

    faults = FaultPlan({2: "429", 5: "503", 7: "drop", 9: "malformed", 12: "503", 13: "429"}, retry_after=0.2)
    with FakeEvalServer(answer=gsm_answer, latency=0.05, faults=faults) as flaky:
        restarted = threading.Event()

        def restart_once(progress: Progress) -> None:
            if progress.done == 10 and not restarted.is_set():
                restarted.set()
                # From another thread: the run must go on while the server is away.
                threading.Thread(target=flaky.restart, args=(0.5,), name="restarter").start()

        outcome = _run(flaky.base_url, tmp_path / "par", 8, on_progress=restart_once)
        assert restarted.is_set()
        assert flaky.max_in_flight > 1  # the requests really were in flight together
    concurrent = outcome.report
    assert concurrent["complete"] and not concurrent["errors"]
    assert _content(concurrent) == _content(sequential)
    assert concurrent["summary"] == sequential["summary"]
    server_facts = concurrent["server"]
    assert server_facts["retries_used"] >= 6
    lines = (tmp_path / "par" / RESULTS).read_text(encoding="utf-8").splitlines()
    keys = [(json.loads(line)["task_id"], json.loads(line)["seed"]) for line in lines]
    assert len(keys) == len(set(keys)) == 30  # every task once, none twice


def test_the_report_states_the_servers_provenance(server: FakeEvalServer, tmp_path: Path) -> None:
    report = _run(server.base_url, tmp_path, 4).report
    facts = report["server"]
    assert facts["endpoint"] == server.base_url and facts["model"] == "fake-qwen3"
    assert facts["max_model_len"] == 8192 and facts["build"] == "b0000-fake"
    assert facts["model_path"] == "/models/fake-qwen3.gguf"
    assert facts["system_fingerprints"] == ["fp_fake_eval_1"] and facts["reply_model_ids"] == ["fake-qwen3"]
    assert facts["concurrency"] == 4 and facts["max_retries"] == 3 and facts["request_timeout"] == 20.0
    sent = facts["request"]
    assert sent["chat_template_kwargs"] == {"enable_thinking": True}
    assert sent["temperature"] == 0.6 and sent["top_p"] == 0.95 and sent["top_k"] == 20 and sent["max_tokens"] == 256
    assert any("sha256" in fact for fact in facts["not_given"])
    assert not any("context length" in fact for fact in facts["not_given"])
    # What was stated is what was sent: the bodies carry the same values and each run's seed.
    body = server.bodies[0]
    assert body["chat_template_kwargs"] == {"enable_thinking": True} and body["temperature"] == 0.6
    assert {b["seed"] for b in server.bodies} == {1, 2, 3}
    # Thinking came as reasoning_content: kept apart from the answer, as in the chat.
    record = report["tasks"][0]
    assert record["thinking"].startswith("<seed") and "adding" not in record["output"]
    assert report["throughput"]["requests"] == 30 and report["throughput"]["requests_per_second"] > 0
    assert report["throughput"]["latency_seconds"]["count"] == 30
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    for text in ("fake-qwen3", "b0000-fake", "fp_fake_eval_1", "8192", "requests/s", "sha256", "enable_thinking"):
        assert text in markdown


def test_a_server_killed_mid_run_keeps_the_results_and_a_resume_completes(tmp_path: Path) -> None:
    with FakeEvalServer(answer=gsm_answer, latency=0.05) as flaky:
        killed = threading.Event()

        def kill_after_eight(progress: Progress) -> None:
            if progress.done >= 8 and not killed.is_set():
                killed.set()
                threading.Thread(target=flaky.stop, name="killer").start()

        with pytest.raises(ModelCrashed, match=r"failed \d+ tasks in a row"):
            _run(flaky.base_url, tmp_path, 4, on_progress=kill_after_eight, max_retries=1)
        report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert 8 <= report["tasks_finished"] < 30 and not report["complete"]
        assert report["errors"]  # lost to the server: listed, not scored as failures
        assert report["summary"]["pooled"]["total"] == report["tasks_finished"]
        flaky.start()  # back, on the same port
        before = flaky.received
        resumed = _run(flaky.base_url, tmp_path, 4).report
        asked = flaky.received - before
    assert resumed["complete"] and not resumed["errors"] and resumed["tasks_finished"] == 30
    assert asked == 30 - report["tasks_finished"]  # only what was missing, errors included
    keys = [(r["task_id"], r["seed"]) for r in resumed["tasks"]]
    assert len(keys) == len(set(keys)) == 30


def test_a_stall_past_the_request_timeout_is_asked_again(tmp_path: Path) -> None:
    faults = FaultPlan({1: "stall"}, stall_seconds=30)
    with FakeEvalServer(answer=gsm_answer, faults=faults) as stalling:
        connection = _connect(stalling.base_url, 2, request_timeout=0.5)
        try:
            config = EvalConfig("gsm8k", limit=3, concurrency=2, request_timeout=0.5)
            report = EvalRun(config, GSM, tmp_path, clients=connection.clients, setup=connection.setup).run().report
        finally:
            connection.close()
    assert report["complete"]
    assert max(r["attempts"] for r in report["tasks"]) == 2


def test_a_task_that_keeps_failing_is_an_error_not_a_failure(tmp_path: Path) -> None:
    faults = FaultPlan({n: "503" for n in range(1, 4)})  # the first task's three attempts
    with FakeEvalServer(answer=gsm_answer, faults=faults) as failing:
        connection = _connect(failing.base_url, 1, max_retries=2)
        try:
            config = EvalConfig("gsm8k", limit=3, max_retries=2)
            report = EvalRun(config, GSM, tmp_path, clients=connection.clients, setup=connection.setup).run().report
        finally:
            connection.close()
    assert [e["task_id"] for e in report["errors"]] == ["gsm8k/0"]
    assert "HTTP 503" in report["errors"][0]["error"] and report["errors"][0]["attempts"] == 3
    assert report["tasks_finished"] == 2 and report["summary"]["pooled"]["total"] == 2
    assert not report["complete"]


def test_a_refused_key_mid_run_stops_the_run_and_keeps_the_results(tmp_path: Path) -> None:
    with (
        FakeEvalServer(answer=gsm_answer, faults=FaultPlan({4: "401"})) as refusing,
        pytest.raises(ServerRefused, match="API key"),
    ):
        _run(refusing.base_url, tmp_path, 1)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["tasks_finished"] == 3


def test_connection_problems_are_one_sentence(tmp_path: Path) -> None:
    with FakeEvalServer() as fake:
        with pytest.raises(RemoteServerError, match="has no model named 'qwen3-72b'; it offers: fake-qwen3"):
            connect_server(
                RemoteConfig(fake.base_url, "qwen3-72b"),
                concurrency=2,
                thinking=None,
                overrides=None,
                max_tokens=None,
                max_retries=3,
                request_timeout=None,
            )
        url = fake.base_url
    with pytest.raises(RemoteServerError, match="connection was refused"):
        _connect(url, 2)


@pytest.mark.parametrize("concurrency", [0, 10_000])
def test_concurrency_out_of_range_is_refused(concurrency: int) -> None:
    with pytest.raises(InvalidOptionError, match="--concurrency must be between 1 and 256"):
        EvalConfig("gsm8k", concurrency=concurrency).validate()


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_retries=3, base_seconds=0.5, cap_seconds=4.0)
    rng = random.Random(7)
    delays = [[policy.delay(attempt, None, rng) for _ in range(200)] for attempt in range(5)]
    for attempt, values in enumerate(delays):
        limit = min(4.0, 0.5 * 2**attempt)
        assert all(limit / 2 <= v <= limit for v in values)
        assert max(values) > 0.8 * limit and len(set(values)) > 100  # spread out, not in lockstep
    assert policy.delay(0, 10.0, rng) == 10.0
    assert policy.delay(0, 10_000.0, rng) == policy.retry_after_cap
    with pytest.raises(InvalidOptionError, match="--max-retries"):
        RetryPolicy(max_retries=-1).validate()


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("drop", "closed the stream before the reply finished"),
        ("malformed", "not valid JSON"),
        ("429", "is busy (HTTP 429"),
    ],
)
def test_each_server_fault_without_retries_is_an_error_with_its_sentence(
    fault: str, message: str, tmp_path: Path
) -> None:
    with FakeEvalServer(answer=gsm_answer, faults=FaultPlan({1: fault})) as faulty:
        connection = _connect(faulty.base_url, 1, max_retries=0)
        try:
            config = EvalConfig("gsm8k", limit=2, max_retries=0)
            report = EvalRun(config, GSM, tmp_path, clients=connection.clients, setup=connection.setup).run().report
        finally:
            connection.close()
    assert len(report["errors"]) == 1 and message in report["errors"][0]["error"]
    assert report["tasks_finished"] == 1


def test_cancel_stops_every_request_in_flight_and_keeps_the_results(tmp_path: Path) -> None:
    with FakeEvalServer(answer=gsm_answer, latency=1.0) as slow:
        connection = _connect(slow.base_url, 4)
        try:
            config = EvalConfig("gsm8k", seeds=(1, 2, 3), concurrency=4)
            run = EvalRun(config, GSM, tmp_path, clients=connection.clients, setup=connection.setup)

            def cancel_after_four(progress: Progress) -> None:
                if progress.done >= 4:
                    run.cancel()

            run.on_progress = cancel_after_four
            outcome = run.run()
        finally:
            connection.close()
    assert outcome.cancelled and 4 <= outcome.report["tasks_finished"] < 30
    assert not outcome.report["errors"]  # the replies stopped by the cancel are not errors
    assert outcome.report["sessions"][-1]["cancelled"]


def test_a_request_the_server_rejects_is_an_error_not_a_wrong_answer(tmp_path: Path) -> None:
    """vLLM answers 400 when prompt plus max_tokens exceed the context: the setting is at fault, not the model."""
    with FakeEvalServer(answer=gsm_answer, faults=FaultPlan({1: "400"})) as rejecting:
        connection = _connect(rejecting.base_url, 1)
        try:
            config = EvalConfig("gsm8k", limit=2)
            report = EvalRun(config, GSM, tmp_path, clients=connection.clients, setup=connection.setup).run().report
        finally:
            connection.close()
    assert [e["attempts"] for e in report["errors"]] == [1]  # not asked again: it would be refused again
    assert "HTTP 400" in report["errors"][0]["error"] and "maximum context length" in report["errors"][0]["error"]
    assert report["summary"]["pooled"]["total"] == 1
