"""``quillpad git-message`` and the app without a git program."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.cli import main
from tests.core.git.conftest import make_repo, run_git


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "GIT_PYTHON"))}
    return {**env, **extra}


def test_git_message_prints_a_message_for_the_staged_changes(tmp_path: Path, qwen3_gguf: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "a = 1\n"})
    (repo / "a.py").write_text("a = 2\n")
    run_git(repo, "add", "a.py")
    done = subprocess.run(
        [sys.executable, "-m", "app", "git-message", str(repo), "--model", str(qwen3_gguf), "--seed", "5",
         "--max-tokens", "20", "--threads", "1"],
        capture_output=True, text=True, timeout=120, env=_clean_env(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines and lines[0].strip() and len(lines[0]) <= 72 and "<think>" not in done.stdout
    assert len(lines) == 1 or lines[1] == ""  # a blank line between summary and body
    assert run_git(repo, "diff", "--cached", "--name-only") == "a.py\n"  # nothing committed


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("plain", "is not in a git repository"),
        ("clean", "Nothing is staged"),
        ("missing", "is not a folder"),
    ],
)
def test_git_message_refusals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], qwen3_gguf: Path, setup: str, expected: str
) -> None:
    folder = tmp_path / "work"
    if setup == "plain":
        folder.mkdir()
    elif setup == "clean":
        make_repo(folder, {"a.py": "a = 1\n"})
    code = main(["git-message", str(folder), "--model", str(qwen3_gguf)])
    assert code == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_without_a_git_program(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.py": "a = 1\n"})
    bare_bin = tmp_path / "bin"
    bare_bin.mkdir()
    env = _clean_env(PATH=str(bare_bin), QUILLPAD_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [sys.executable, "-m", "app", "git-message", str(repo), "--model", "x.gguf"],
        capture_output=True, text=True, timeout=60, env=env, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "git program, which was not found on PATH" in done.stderr
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from app.core.git import CheckpointStore, GitUnavailableError, find_repository, git_available
        assert not git_available()
        try:
            find_repository({str(repo)!r})
        except GitUnavailableError as err:
            print("refused:", err)
        store = CheckpointStore.for_folder({str(repo)!r}, Path({str(tmp_path / "data")!r}))
        store.record(["a.py"], "edit")
        Path({str(repo / "a.py")!r}).write_text("a = 2\\n")
        store.undo_last()
        print("restored:", Path({str(repo / "a.py")!r}).read_text().strip(), store.in_repository)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env, check=False, cwd=Path.cwd()
    )
    assert done.returncode == 0, done.stderr
    assert "refused: Git features need the git program" in done.stdout
    assert "restored: a = 1 False" in done.stdout  # checkpoints still work, in the app's own store


def test_bench_git_prints_its_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo(tmp_path / "repo", {f"m{i}.py": f"x = {i}\n" for i in range(6)})
    assert main(["bench", "git", str(repo), "--touch", "3", "--checkpoints", "4"]) == 0
    out = capsys.readouterr().out
    assert "repository: 6 tracked files, 3 modified" in out
    for label in ("status read:", "working-tree diff:", "checkpoint of 3 files:", "exact undo of it:"):
        assert label in out
    assert "listing 4 AI changes" in out
    assert run_git(repo, "for-each-ref").count("refs/quillpad") == 0  # the bench worked on a clone
    assert main(["bench", "git", str(tmp_path), "--touch", "1"]) == 2
