"""The desktop binary's differences, checked without building it: no interpreter of its
own, the sandbox launcher as a hidden mode, a clean environment for outside programs."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from app.core import frozen
from app.core.frozen import SANDBOX_LAUNCHER_ARG, external_env, user_code_python
from app.core.sandbox.runner import SandboxError, run_python, run_sandboxed
from app.core.testing.interpreter import InterpreterError, find_project_python


@pytest.fixture
def as_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to be the PyInstaller binary, bundled in ``tmp_path/bundle``."""
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    # An activated virtual environment (as on CI) would be chosen before PATH.
    monkeypatch.delenv("VIRTUAL_ENV", raising=False)
    return bundle


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_installed_app_runs_user_code_with_its_own_interpreter() -> None:
    assert not frozen.is_frozen()
    assert user_code_python() == sys.executable
    assert external_env({"A": "1", "LD_LIBRARY_PATH": "/x"}) == {"A": "1", "LD_LIBRARY_PATH": "/x"}


def test_binary_uses_python_from_path(as_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python3 = _executable(bin_dir / "python3", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    assert user_code_python() == str(python3)
    assert find_project_python(tmp_path / "project").path == str(python3)
    assert find_project_python(tmp_path / "project").source == "python3 on PATH"


def test_binary_without_python_says_what_is_needed(
    as_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert user_code_python() is None
    with pytest.raises(SandboxError, match="needs a Python 3 interpreter"):
        run_python("print(1)")
    with pytest.raises(InterpreterError, match="needs the project's Python and none was found"):
        find_project_python(tmp_path)
    # A project's own virtual environment needs no Python on PATH.
    venv_python = tmp_path / "proj" / ".venv" / "bin" / "python"
    venv_python.parent.mkdir(parents=True)
    _executable(venv_python, "#!/bin/sh\nexit 0\n")
    assert find_project_python(tmp_path / "proj").source == "project venv"


def test_outside_programs_do_not_get_the_bundles_environment(as_binary: Path) -> None:
    bundle = str(as_binary)
    env = {
        "PATH": f"{bundle}:/usr/bin",
        "HOME": "/home/u",
        "_PYI_ARCHIVE_FILE": f"{bundle}/quillpad",
        "_PYI_PARENT_PROCESS_LEVEL": "1",
        "QT_PLUGIN_PATH": f"{bundle}/PySide6/Qt/plugins",
        "QML2_IMPORT_PATH": f"{bundle}/PySide6/Qt/qml",
        "LD_LIBRARY_PATH": bundle,
        "LD_LIBRARY_PATH_ORIG": "/opt/lib",
    }
    assert external_env(env) == {"PATH": f"{bundle}:/usr/bin", "HOME": "/home/u", "LD_LIBRARY_PATH": "/opt/lib"}
    del env["LD_LIBRARY_PATH_ORIG"]
    assert "LD_LIBRARY_PATH" not in external_env(env)


def test_sandbox_launcher_runs_as_a_hidden_mode_of_the_binary(
    as_binary: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stand-in for the binary: its entry script (app/__main__.py) with the same arguments,
    # and a record of them to show the launcher was started through the hidden mode.
    calls = tmp_path / "calls.txt"
    fake = _executable(
        tmp_path / "quillpad",
        f'#!/bin/sh\necho "$1" >> {calls}\nexec {sys.executable} -m app "$@"\n',
    )
    monkeypatch.setattr(sys, "executable", str(fake))
    result = run_sandboxed(["/bin/sh", "-c", "echo hello from $PWD"])
    assert result.ok, result.stderr
    assert result.stdout.startswith("hello from ") and "quillpad-sandbox-" in result.stdout
    # Started twice through the hidden mode: the isolation probe, then the run.
    assert calls.read_text().split() == [SANDBOX_LAUNCHER_ARG, SANDBOX_LAUNCHER_ARG]
    assert result.isolation == "namespaces"
