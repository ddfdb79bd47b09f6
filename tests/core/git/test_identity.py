"""Issue 26 problem 9: the tests carry their own HOME and git identity."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from app.core.git import commit, find_repository, stage
from app.core.git.gitcmd import GitCommandError
from tests.fixtures.hermetic import TEST_EMAIL, TEST_NAME


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def test_the_tests_run_with_their_own_home_and_identity(tmp_path: Path) -> None:
    home = Path(os.environ["HOME"])
    assert home.name.startswith("quillpad-test-user-home-")
    assert Path(os.environ["GIT_CONFIG_GLOBAL"]) == home / ".gitconfig"
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    # A repository with no config of its own (like a fresh submodule clone) gets the tests' identity.
    assert _git(tmp_path, "config", "user.email") == TEST_EMAIL
    assert _git(tmp_path, "config", "user.name") == TEST_NAME
    assert _git(tmp_path, "config", "init.defaultBranch") == "main"


def test_a_commit_without_any_identity_says_what_to_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-gitconfig"
    # useConfigOnly: git must not guess an identity from the host name, as on the machine of the report.
    empty.write_text("[user]\n\tuseConfigOnly = true\n", encoding="utf-8")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    subprocess.run(["git", "init", "-q", str(repo_dir)], check=True)
    (repo_dir / "a.py").write_text("A = 1\n", encoding="utf-8")
    repo = find_repository(repo_dir)
    assert repo is not None
    stage(repo, ["a.py"])
    with pytest.raises(GitCommandError, match=r"does not know who you are; set user\.name and user\.email"):
        commit(repo, "First")
