"""Slash commands in ``quillpad chat``: the plugin layer with the chat's model, local or remote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from tests.fixtures.fake_openai_server import DONE, FakeOpenAIServer, Script, chunk


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def _reply(server: FakeOpenAIServer, text: str) -> None:
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]
    server.script = Script(lines=[*(chunk(p) for p in pieces), chunk(finish="stop"), DONE])


def test_steps_with_the_tiny_real_model_then_a_plain_prompt(
    qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["chat", "--model", str(qwen3_gguf), "--json", "--seed", "3", "--max-tokens", "8", "--threads", "1"]
    assert main([*args, "/steps solve 2x+3=7", "and now?"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    done = [e for e in events if e["type"] == "done"]
    assert [(e["turn"], e["reason"]) for e in done] == [(1, "length"), (2, "length")]  # --max-tokens bounds both
    reports = [e["text"] for e in events if e["type"] == "message"]
    assert len(reports) == 1 and "Steps checked by SymPy" in reports[0]
    assert all(e["turn"] == 1 for e in events if e["type"] == "message")
    stats = [e for e in events if e["type"] == "stats"]
    assert len(stats) == 2
    # The JSON says which thread count decoded how many tokens (--threads 1: all of them).
    assert all(e["thread_tokens"] == {"1": e["completion_tokens"]} for e in stats)


def test_an_unknown_command_names_the_available_ones(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["chat", "--server", server.base_url, "/nope x", "hi"]) == 2
    captured = capsys.readouterr()
    message = captured.err.strip().splitlines()[-1]
    assert message.startswith("quillpad: There is no command /nope; the commands are /help, ")
    assert "/steps" in message and "/gen" in message and message.endswith(".")
    assert server.requests == []  # nothing went to the model, not even the plain prompt after it


def test_steps_through_a_server_checks_the_scripted_solution(
    server: FakeOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _reply(server, "Subtract 3: $2x = 4$.\n\nDivide by 2: $x = 2$.\n\n**Answer:** $x = 2$")
    assert main(["chat", "--server", server.base_url, "/steps solve 2x+3=7", "thanks"]) == 0
    out = capsys.readouterr().out
    assert "Divide by 2" in out  # the answer streamed
    assert "Steps checked by SymPy" in out and "3 verified, 0 wrong" in out
    assert "2x+3=7" in server.requests[0]["messages"][-1]["content"]
    # The plain prompt after it sees the command and the model's answer, as in the app's chat.
    follow_up = [(m["role"], m["content"]) for m in server.requests[1]["messages"]]
    assert follow_up[-3][0] == "user" and follow_up[-3][1] == "/steps solve 2x+3=7"
    assert follow_up[-2][0] == "assistant" and "Divide by 2" in follow_up[-2][1]
    assert follow_up[-1] == ("user", "thanks")


def test_gen_prints_the_proposal_and_never_writes_the_file(
    server: FakeOpenAIServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def sub(a, b):\n    return a - b\n")
    _reply(server, "```python\ndef add(a, b):\n    return a + b\n```")
    args = ["chat", "--server", server.base_url, "--file", str(source), "/gen a function that adds two numbers"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "+def add(a, b):" in captured.out and "+    return a + b" in captured.out
    assert "calc.py" in captured.out
    assert "not applied" in captured.err
    assert source.read_text() == "def sub(a, b):\n    return a - b\n"
    assert "return a - b" in json.dumps(server.requests[0]["messages"])  # the plugin read --file
