"""``quillpad eval --server``: a real llama-cpp-python server, local against server compared,
a server killed mid-run and resumed, and every bad input as one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from app.cli import main
from app.core.bench.fake_eval_server import FakeEvalServer
from app.core.bench.llama_server import LlamaServer, free_port
from tests.fixtures.fake_openai_server import FakeOpenAIServer


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def llama_server(qwen3_gguf: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "server.log", interrupt_requests=False)
    try:
        yield server.start()
    finally:
        server.stop()


def test_a_server_run_and_a_local_run_of_the_same_model_compare(
    llama_server: LlamaServer, qwen3_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--limit", "2", "--max-tokens", "16", "--no-think", "--seeds", "1,2", "--json"]
    server_out, local_out = tmp_path / "server", tmp_path / "local"
    argv = ["eval", "gsm8k", "--server", llama_server.base_url, "--concurrency", "2", "--out", str(server_out)]
    assert main([*argv, *common]) == 0
    lines = _json_lines(capsys.readouterr().out)
    progress = [line for line in lines if line["type"] == "progress"]
    assert len(progress) == 4
    rates = progress[-1]["throughput"]
    assert rates["requests"] == 4 and rates["requests_per_second"] > 0  # type: ignore[index]
    assert rates["latency_seconds"]["p50"] > 0  # type: ignore[index]
    assert lines[-1]["type"] == "report" and lines[-1]["complete"]
    local = subprocess.run(
        [sys.executable, "-m", "app", "eval", "gsm8k", "--model", str(qwen3_gguf), "--threads", "1",
         "--out", str(local_out), *common],
        capture_output=True, text=True, timeout=180, env=_env(), check=False,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    markdown = (server_out / "report.md").read_text(encoding="utf-8")
    for fact in (llama_server.base_url, "tiny-qwen3", "Not given by the server", "sha256", "requests/s", "p90"):
        assert fact in markdown
    assert main(["eval", "compare", str(local_out), str(server_out)]) == 0
    text = capsys.readouterr().out
    assert "this computer" in text and f"server {llama_server.base_url} (tiny-qwen3)" in text
    assert qwen3_gguf.name in text and "not checkable on a server" in text and "requests/s" in text


def test_a_server_killed_mid_run_keeps_the_results_and_the_run_resumes(qwen3_gguf: Path, tmp_path: Path) -> None:
    server = LlamaServer(qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "a.log", interrupt_requests=False)
    server.start()
    args = [sys.executable, "-m", "app", "eval", "gsm8k", "--max-tokens", "48", "--no-think", "--concurrency", "2",
            "--max-retries", "1", "--seeds", "1,2,3,4", "--out", str(tmp_path / "run"), "--json"]  # fmt: skip
    process = subprocess.Popen(
        [*args, "--server", server.base_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        assert process.stdout is not None
        seen = 0
        for line in process.stdout:
            if json.loads(line).get("type") == "progress":
                seen += 1
                if seen == 3:
                    break
        helpers = psutil.Process(process.pid).children(recursive=True)  # the scoring sandbox and judge
        server.kill()
        _, err = process.communicate(timeout=120)
    finally:
        process.kill()
        server.stop()
    assert process.returncode == 2, err
    assert "Traceback" not in err and "run again to continue" in err and err.count("\n") == 1
    first = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    assert not first["complete"] and first["tasks_finished"] >= 3
    _, alive = psutil.wait_procs(helpers, timeout=10)
    assert not alive  # nothing the run started is left running
    # The server comes back (on another port): the same command continues and completes.
    with LlamaServer(qwen3_gguf, alias="tiny-qwen3", log_path=tmp_path / "b.log", interrupt_requests=False) as again:
        result = subprocess.run(
            [*args, "--server", again.base_url], capture_output=True, text=True, timeout=300, env=_env(), check=False
        )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["tasks_finished"] == 40 and not report["errors"]
    keys = [(r["task_id"], r["seed"]) for r in report["tasks"]]
    assert len(keys) == len(set(keys)) == 40
    start = next(line for line in _json_lines(result.stdout) if line["type"] == "start")
    assert start["resumed"] == first["tasks_finished"]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_servers_and_options_are_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "run")]
    closed = f"http://127.0.0.1:{free_port()}/v1"
    assert "connection was refused" in _refused(["eval", "gsm8k", "--server", closed, *out], capsys)
    with FakeOpenAIServer(api_key="right-key") as keyed:
        err = _refused(["eval", "gsm8k", "--server", keyed.base_url, *out], capsys)
        assert "needs an API key" in err
        err = _refused(["eval", "gsm8k", "--server", keyed.base_url, "--api-key", "wrong", *out], capsys)
        assert "refused the API key" in err and "wrong" not in err
    with FakeEvalServer() as fake:
        err = _refused(["eval", "gsm8k", "--server", fake.base_url, "--model", "qwen3-72b", *out], capsys)
        assert "has no model named 'qwen3-72b'; it offers: fake-qwen3" in err
        for value in ("0", "10000"):
            err = _refused(["eval", "gsm8k", "--server", fake.base_url, "--concurrency", value, *out], capsys)
            assert "--concurrency must be between 1 and 256" in err
        err = _refused(["eval", "gsm8k", "--server", fake.base_url, "--max-retries", "-1", *out], capsys)
        assert "--max-retries must be between 0 and 20" in err
        err = _refused(["eval", "gsm8k", "--server", fake.base_url, "--request-timeout", "0", *out], capsys)
        assert "request timeout" in err
        bad = tmp_path / "broken.jsonl"
        bad.write_text('{"question": "1+1?", "answer": "#### 2"}\n{"question": "2+2?", "answ\n', encoding="utf-8")
        err = _refused(["eval", "gsm8k", "--server", fake.base_url, "--data", str(bad), *out], capsys)
        assert "Line 2 of" in err and "not valid JSON" in err
        assert not (tmp_path / "run" / "results.jsonl").exists()
    err = _refused(["eval", "gsm8k", "--model", "x.gguf", "--concurrency", "4", *out], capsys)
    assert "--concurrency is for a model server" in err
    err = _refused(["eval", "gsm8k", "--profile", "Nope", *out], capsys)
    assert "no connection profile named 'Nope'" in err


def test_a_server_run_resumes_and_fresh_starts_over(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeEvalServer(latency=0.02) as fake:
        argv = ["eval", "math", "--server", fake.base_url, "--out", str(tmp_path), "--json"]
        assert main([*argv, "--limit", "3"]) == 0
        assert fake.received == 3
        capsys.readouterr()
        assert main(argv) == 0  # the same run, more tasks: only the new ones are asked
        start = _json_lines(capsys.readouterr().out)[0]
        assert start == {"type": "start", "total": start["total"], "resumed": 3}
        assert fake.received == start["total"]
        assert main([*argv, "--fresh", "--limit", "2"]) == 0
        assert fake.received == start["total"] + 2
