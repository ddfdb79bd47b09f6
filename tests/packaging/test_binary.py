"""The desktop binary: build it with ``packaging/build.py`` and run it as a user would,
in a clean environment (no virtual environment, no Python on the binary's side)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.versions import version_info
from tests.packaging.conftest import PACKAGING

# Building takes a minute or two: the first test to ask for the binary pays for it.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dist/quillpad/`` built from this tree (no release archive: it is not needed here)."""
    out = tmp_path_factory.mktemp("binary")
    command = [sys.executable, str(PACKAGING / "build.py"), "--no-archive"]
    result = subprocess.run(
        [*command, "--dist", str(out / "dist"), "--work", str(out / "work")],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return out / "dist" / "quillpad"


def run_binary(dist: Path, home: Path, *args: str, path: str = "/usr/bin:/bin") -> subprocess.CompletedProcess[str]:
    """Run the binary with nothing from this test run's environment but a minimal PATH."""
    env = {
        "PATH": path,
        "HOME": str(home),
        "QUILLPAD_HOME": str(home / "quillpad"),
        "LANG": "C.UTF-8",
        "QT_QPA_PLATFORM": "offscreen",
        "QTWEBENGINE_DISABLE_SANDBOX": "1",
    }
    return subprocess.run(
        [str(dist / "quillpad"), *args], capture_output=True, text=True, env=env, cwd=home, timeout=300, check=False
    )


def test_version_runs_without_python(dist: Path, tmp_path: Path) -> None:
    result = run_binary(dist, tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    # The same versions as the environment it was built from, llama.cpp included.
    assert result.stdout.splitlines() == version_info().lines()
    assert result.stdout.startswith("Quillpad ") and "0+unknown" not in result.stdout


def test_selftest_loads_a_model_and_streams_a_reply(dist: Path, tmp_path: Path, qwen3_gguf: Path) -> None:
    result = run_binary(dist, tmp_path, "selftest", "--model", str(qwen3_gguf), "--prompt", "Say hello.")
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    steps = {line.split(":")[0].split(maxsplit=1)[1]: line for line in result.stdout.splitlines()}
    # The chat view (Qt WebEngine), the entry-point plugins, the sandbox launcher,
    # the file watcher (inotify_simple's ctypes binding), the spawned llama probe
    # and engine worker: all from inside the bundle.
    assert list(steps) == [
        "open window",
        "load plugins",
        "run code in sandbox",
        "watch for changes",
        "load model",
        "stream reply",
        "sandbox isolation",
        "sandbox network",
        "sandbox write outside",
        "sandbox read home",
    ]
    assert "Isolated (Linux namespaces)" in steps["sandbox isolation"]
    assert all(line.startswith("ok ") for line in steps.values()), result.stdout
    assert "codegen (enabled), math (enabled), testrunner (enabled)" in steps["load plugins"]
    assert "Tiny Qwen3" in steps["load model"]
    assert "Traceback" not in result.stderr


def test_without_python_on_path_running_code_says_so(dist: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = run_binary(dist, tmp_path, "selftest", path=str(empty))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "ok     run code in sandbox: not available here: no Python 3 on PATH" in result.stdout
    assert "ok     sandbox probes: not run: Running Python code needs a Python 3 interpreter" in result.stdout


def test_plugins_load_from_the_bundled_metadata(dist: Path, tmp_path: Path) -> None:
    result = run_binary(dist, tmp_path, "plugins")
    assert result.returncode == 0, result.stderr
    assert "codegen 0.1.0  [enabled]" in result.stdout and "testrunner 0.1.0  [enabled]" in result.stdout
    assert "commands: /gen /explain /edit" in result.stdout


def test_bundle_holds_the_app_data_and_native_libraries(dist: Path) -> None:
    internal = dist / "_internal"
    assert (internal / "models" / "profiles" / "qwen3.toml").is_file()
    assert (internal / "resources" / "chat" / "page.html").is_file()
    assert list((internal / "llama_cpp" / "lib").glob("libllama.*"))
    assert list(internal.rglob("QtWebEngineProcess*"))
    assert (internal / "PySide6" / "Qt" / "resources" / "qtwebengine_resources.pak").is_file()
    assert (internal / "PySide6" / "Qt" / "translations" / "qtwebengine_locales" / "en-US.pak").is_file()
    if sys.platform.startswith("linux"):
        for name in ("quillpad.desktop", "quillpad.svg", "quillpad.png", "install.sh"):
            assert (dist / name).is_file(), name
        assert os.access(dist / "install.sh", os.X_OK)
    # Left out on purpose (see the spec's excludes).
    assert not (internal / "tkinter").exists() and not (internal / "_pytest").exists()
    assert not (internal / "PySide6" / "Qt" / "qml").exists()
