"""``quillpad refs index|check`` and ``quillpad bench refs``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jinja2.utils
import pytest

from app.cli import main
from app.core.paths import app_paths
from app.core.refs import RefIndex, default_index_path
from app.core.refs.sources import Source, distribution_sources, folder_source
from tests.core.refs.test_index import WRITTEN, _longest_function


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    path = tmp_path / "answer.py"
    path.write_text(WRITTEN + "\n\n" + _longest_function(jinja2.utils.__file__ or ""), encoding="utf-8")
    return path


def _jinja_only(monkeypatch: pytest.MonkeyPatch, extra: list[Source] | None = None) -> None:
    """Index only Jinja2 (all of the environment takes minutes), through the real command."""
    jinja = [s for s in distribution_sources() if s.name == "Jinja2"]
    monkeypatch.setattr(RefIndex, "sources", lambda self: jinja + (extra or []))


def test_check_refuses_an_empty_index(copied: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refs", "check", str(copied)]) == 2
    assert "run `quillpad refs index` first" in capsys.readouterr().err


def test_index_then_check(
    copied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "nolicence.py").write_text(WRITTEN, encoding="utf-8")
    _jinja_only(monkeypatch, [folder_source(folder)])
    assert main(["refs", "index", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sources"] == 2 and summary["files"] > 5 and summary["bytes"] > 0
    assert summary["licence_unknown"] == ["lib"]
    assert Path(summary["path"]) == default_index_path(app_paths())

    assert main(["refs", "check", str(copied)]) == 0
    out = capsys.readouterr().out
    assert "jinja2/utils.py" in out and "from Jinja2" in out and "(licence unknown)" in out

    assert main(["refs", "check", str(copied), "--json", "--project", str(folder)]) == 0
    found = json.loads(capsys.readouterr().out)["matches"]
    assert {m["package"] for m in found} == {"Jinja2"}  # the project's own code is left out
    assert found[0]["licence"].startswith("BSD")

    monkeypatch.setattr("sys.stdin", io.StringIO("def nothing_like_it(a):\n    return a\n"))
    assert main(["refs", "check", "-"]) == 0
    assert "No match" in capsys.readouterr().out


def test_check_of_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["refs", "check", "/no/such/file.py"]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_refs_reports_every_figure(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "refs", "--packages", "jinja2,pathspec", "--samples", "4", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert set(figures["per_transform"]) >= {"renamed", "reformatted", "reordered", "verbatim"}
    assert figures["index"]["files"] > 0 and figures["index"]["bytes"] > 0
    assert figures["latency_ms"]["p50"] is not None
    assert 0.0 <= figures["precision"] <= 1.0 and 0.0 <= figures["recall_renamed_reformatted"] <= 1.0


def test_chat_gen_names_the_source_of_copied_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.fixtures.fake_openai_server import DONE, FakeOpenAIServer, Script, chunk

    index = RefIndex(default_index_path(app_paths()), include_own_environment=False)
    index.update(sources=[s for s in distribution_sources() if s.name == "Jinja2"])
    index.close()
    source = tmp_path / "calc.py"
    source.write_text("def sub(a, b):\n    return a - b\n")
    reply = "```python\n" + _longest_function(jinja2.utils.__file__ or "") + "```"
    with FakeOpenAIServer() as server:
        pieces = [reply[i : i + 40] for i in range(0, len(reply), 40)]
        server.script = Script(lines=[*(chunk(p) for p in pieces), chunk(finish="stop"), DONE])
        args = ["chat", "--server", server.base_url, "--file", str(source), "/gen a helper"]
        assert main(args) == 0
    err = capsys.readouterr().err
    assert "calc.py lines" in err and "jinja2/utils.py" in err and "from Jinja2" in err
