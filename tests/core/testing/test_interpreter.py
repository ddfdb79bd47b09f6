"""Issue 26 problem 3: the project's interpreter is found in order and never Quillpad's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.testing.interpreter import InterpreterError, detect_project_python, find_project_python
from app.core.testing.runner import TestRun, TestRunError
from tests.fixtures.project_python import set_project_python


def _venv(path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path / "bin" / "python"


def _script(folder: Path, name: str, output: str) -> None:
    folder.mkdir(exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{output}'\n")  # a shell builtin: PATH has no coreutils
    script.chmod(0o755)


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH with only a folder of our own (plus Quillpad's venv, which must be skipped)."""
    tools = tmp_path / "tools"
    tools.mkdir()
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), str(tools)]))
    for var in ("CONDA_EXE", "VIRTUAL_ENV"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tools


def test_the_project_venv_comes_first(tmp_path: Path) -> None:
    python = _venv(tmp_path / "proj" / ".venv")
    found = find_project_python(tmp_path / "proj")
    assert (found.path, found.source) == (str(python), "project venv")


def test_a_poetry_environment(tmp_path: Path, bare_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[tool.poetry]\nname = "proj"\n')
    python = _venv(tmp_path / "cache" / "proj-py3.11")
    _script(bare_path, "poetry", str(tmp_path / "cache" / "proj-py3.11"))
    found = detect_project_python(root)
    assert found is not None and (found.path, found.source) == (str(python), "Poetry env")


def test_a_conda_environment_named_by_the_project(tmp_path: Path, bare_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "environment.yml").write_text("name: shop-env\ndependencies:\n  - python=3.11\n")
    python = _venv(tmp_path / "conda" / "envs" / "shop-env")
    _script(bare_path, "conda", json.dumps({"envs": [str(tmp_path / "conda"), str(tmp_path / "conda/envs/shop-env")]}))
    found = detect_project_python(root)
    assert found is not None and (found.path, found.source) == (str(python), "conda env shop-env")


def test_python3_on_path_but_never_quillpads_own(tmp_path: Path, bare_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    assert detect_project_python(root) is None  # only Quillpad's venv has a python3 on this PATH
    with pytest.raises(InterpreterError, match="Settings ▸ Project"):
        find_project_python(root)
    (bare_path / "python3").symlink_to("/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable)
    found = find_project_python(root)
    assert (found.path, found.source) == (str(bare_path / "python3"), "python3 on PATH")
    assert found.path != sys.executable


def test_the_setting_per_project_wins_and_a_bad_one_says_where_to_fix_it(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    _venv(root / ".venv")
    set_project_python(root, sys.executable)
    assert find_project_python(root).source == "set in the settings"
    set_project_python(root, str(tmp_path / "gone" / "python"))
    with pytest.raises(InterpreterError, match=r"Python set for this project .* Settings ▸ Project"):
        find_project_python(root)
    assert detect_project_python(root) is not None  # the other projects and detection are untouched


def test_missing_pytest_advice_names_the_projects_python(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "test_x.py").write_text("def test_x():\n    pass\n")
    python = _venv(root / ".venv")
    with pytest.raises(TestRunError) as caught:
        TestRun(root).run()
    message = str(caught.value)
    assert f"{python} -m pip install pytest" in message and sys.executable not in message
