"""``quillpad tools list`` and ``quillpad chat --agent`` end to end (real tiny model, real MCP server)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.core.paths import app_paths
from tests.fixtures.sample_plugin import install_distribution

ROOT = str(Path(__file__).resolve().parents[2])


@pytest.fixture
def builtin_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    """The built-in tools plugin declared by entry point, as an installed Quillpad declares it."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    install_distribution(site, "quillpad-agenttools-test", "1.0", {"agenttools": "plugins.agenttools:plugin"})


def test_tools_list_shows_builtin_and_mcp_tools(builtin_tools: None, capsys: pytest.CaptureFixture[str]) -> None:
    config = app_paths().config_dir
    config.mkdir(parents=True, exist_ok=True)
    server = {
        "command": sys.executable,
        "args": ["-m", "tests.fixtures.mcp_servers", "stdio"],
        "env": {"PYTHONPATH": ROOT},
    }
    (config / "mcp.json").write_text(json.dumps({"mcpServers": {"calc": server, "broken": {"url": 5}}}))
    assert main(["tools", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    kinds = {row["name"]: (row["kind"], row["source"]) for row in listed["tools"]}
    assert kinds["read_file"] == ("read-only", "agenttools")
    assert kinds["propose_edit"] == ("acting", "agenttools")
    assert kinds["calc__add"] == ("acting", "mcp:calc")
    assert any("broken" in note for note in listed["notices"])


def test_chat_agent_with_the_tiny_model_runs_to_an_end(
    builtin_tools: None, qwen3_gguf: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    args = ["chat", "--agent", "--project", str(project), "--model", str(qwen3_gguf), "--max-tokens", "24"]
    assert main([*args, "--seed", "3", "--json", "what is in a.py?"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines and all(line.get("type") != "error" for line in lines)
    assert all(
        line["state"] in ("running", "waiting", "done", "failed", "denied") for line in lines if line["type"] == "tool"
    )
    assert (project / "a.py").read_text() == "x = 1\n"  # the CLI never writes files


def test_chat_agent_refuses_acting_tools_not_allowed_and_never_writes(
    builtin_tools: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A model server (scripted: it asks for an edit every time) drives the CLI's agent run."""
    from tests.fixtures.fake_openai_server import DONE, FakeOpenAIServer, Script, chunk

    project = tmp_path / "proj"
    project.mkdir()
    (project / "a.py").write_text("x = 1\n")
    edit = {"name": "propose_edit", "arguments": {"path": "a.py", "search": "x = 1", "replace": "x = 2"}}
    text = f"<tool_call>\n{json.dumps(edit)}\n</tool_call>"
    with FakeOpenAIServer() as server:
        server.script = Script(lines=[chunk(content=text[:20]), chunk(content=text[20:], finish="stop"), DONE])
        args = ["chat", "--agent", "--project", str(project), "--server", server.base_url]
        assert main([*args, "change x"]) == 0
        refused = capsys.readouterr()
        assert (
            "propose_edit was refused: it acts, and the CLI runs acting tools only with --allow propose_edit."
            in refused.err
        )
        assert "[tool] propose_edit" in refused.out and "denied" in refused.out
        assert "same arguments 3 times" in refused.err  # the scripted model insists: the loop detector ends it
        assert main([*args, "--allow", "propose_edit", "change x"]) == 0
        allowed = capsys.readouterr()
    assert "-x = 1\n+x = 2" in allowed.out  # shown as a diff…
    assert (project / "a.py").read_text() == "x = 1\n"  # …and never written
