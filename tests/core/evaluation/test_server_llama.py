"""Evaluation on a real llama-cpp-python server on 127.0.0.1 with the tiny Qwen3 model:
requests in flight give the same results as one at a time, and the report names the server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.bench.llama_server import LlamaServer
from app.core.evaluation.datasets import load_dataset
from app.core.evaluation.runner import EvalConfig, EvalRun
from app.core.evaluation.server import connect_server
from app.core.remote.config import RemoteConfig

TIMING = {"generation_seconds", "score_seconds", "request_seconds", "attempts"}


@pytest.fixture
def llama_server(qwen3_gguf: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    """The server set up for requests in flight: they queue instead of cutting each other short."""
    server = LlamaServer(
        qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "llama-server.log", interrupt_requests=False
    )
    try:
        yield server.start()
    finally:
        server.stop()


def _run(url: str, folder: Path, concurrency: int, kind: str = "gsm8k", retries: int = 3) -> dict[str, Any]:
    dataset = load_dataset(kind)  # type: ignore[arg-type]
    config = EvalConfig(
        kind,  # type: ignore[arg-type]
        seeds=(1, 2),
        limit=3,
        max_tokens=16,
        concurrency=concurrency,
        max_retries=retries,
    )
    connection = connect_server(
        RemoteConfig(url),
        concurrency=concurrency,
        thinking=False,
        overrides=None,
        max_tokens=16,
        max_retries=retries,
        request_timeout=120.0,
    )
    try:
        return EvalRun(config, dataset, folder, clients=connection.clients, setup=connection.setup).run().report
    finally:
        connection.close()


def test_concurrent_requests_give_the_sequential_results(llama_server: LlamaServer, tmp_path: Path) -> None:
    one = _run(llama_server.base_url, tmp_path / "one", 1)
    three = _run(llama_server.base_url, tmp_path / "three", 3)
    assert one["complete"] and three["complete"] and not three["errors"]
    assert [{k: v for k, v in r.items() if k not in TIMING} for r in three["tasks"]] == [
        {k: v for k, v in r.items() if k not in TIMING} for r in one["tasks"]
    ]
    assert all(r["completion_tokens"] > 0 for r in three["tasks"])
    facts = three["server"]
    assert facts["model"] == "tiny-qwen3" and facts["endpoint"] == llama_server.base_url
    assert facts["reply_model_ids"] == ["tiny-qwen3"]
    assert facts["request"]["temperature"] == 0.7  # Qwen3's non-thinking preset, sent explicitly
    assert facts["request"]["chat_template_kwargs"] == {"enable_thinking": False}
    # llama-cpp-python's server has neither /props nor a fingerprint: the report says so.
    assert any("build" in fact for fact in facts["not_given"])
    assert any("system_fingerprint" in fact for fact in facts["not_given"])
    assert three["throughput"]["requests"] == 6 and three["throughput"]["output_tokens"] > 0


def test_replies_cut_short_by_an_interrupting_server_are_errors_not_failures(qwen3_gguf: Path, tmp_path: Path) -> None:
    """llama-cpp-python's server, by default, ends a reply with [DONE] when another request arrives."""
    with LlamaServer(qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "log") as server:
        report = _run(server.base_url, tmp_path / "run", 3, retries=0)
    # Whatever was cut is an error naming the cure; nothing cut is scored as the model's failure.
    assert all(r["completion_tokens"] > 0 for r in report["tasks"])
    assert all("--interrupt_requests False" in e["error"] for e in report["errors"])
    assert report["tasks_finished"] + len(report["errors"]) == 6
