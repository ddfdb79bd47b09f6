"""The Tests panel in the window: runs, results tree, jump to failure, stop, /test."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.shell.main_window import MainWindow
from tests.fixtures.project_python import set_project_python
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]

TESTS = """import time


def test_ok():
    assert True


def test_broken():
    assert 1 == 2


def test_slow():
    time.sleep(60)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "test_things.py").write_text(TESTS)
    # The project has no venv of its own: use this interpreter, which has pytest (as in Settings ▸ Project).
    set_project_python(root, sys.executable)
    return root


def panel_of(window: MainWindow):  # type: ignore[no-untyped-def]
    for index in range(window.bottom_tabs.count()):
        if window.bottom_tabs.tabText(index) == "Tests":
            return window.bottom_tabs.widget(index)
    raise AssertionError("no Tests panel")


def open_project(qtbot: QtBot, window: MainWindow, root: Path) -> None:
    window.open_folder(str(root))
    qtbot.waitUntil(lambda: bool(window.project.complete_file("")), timeout=30_000)


def test_run_show_results_and_jump_to_a_failure(make_window: MakeWindow, qtbot: QtBot, project: Path) -> None:
    window = make_window()
    open_project(qtbot, window, project)
    panel = panel_of(window)
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        assert panel.run(["-k", "not slow"])
    assert panel.result.report.counts["failed"] == 1 and panel.result.report.counts["passed"] == 1
    file_item = panel.tree.topLevelItem(0)
    broken = next(
        file_item.child(i) for i in range(file_item.childCount()) if file_item.child(i).text(0) == "test_broken"
    )
    assert "failed" in broken.text(1)
    panel._open_item(broken)
    editor = window.tabs.current_editor()
    assert editor is not None and window.tabs.current_path().endswith("test_things.py")  # type: ignore[union-attr]
    assert editor.cursor_position()[0] == 9
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        panel.rerun_failed()
    assert [case.name for case in panel.result.report.cases] == ["test_broken"]


def test_stop_a_run(make_window: MakeWindow, qtbot: QtBot, project: Path) -> None:
    window = make_window()
    open_project(qtbot, window, project)
    panel = panel_of(window)
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        panel.run(["-k", "slow"])
        qtbot.waitUntil(lambda: "test_things.py" in panel.output.toPlainText(), timeout=30_000)
        panel.stop()
    assert panel.result.stopped and "stopped" in panel.summary.text()


def test_run_the_test_at_the_cursor(make_window: MakeWindow, qtbot: QtBot, project: Path) -> None:
    window = make_window()
    open_project(qtbot, window, project)
    assert window.open_path(str(project / "test_things.py"))
    window.tabs.current_editor().go_to_line(5)  # type: ignore[union-attr]
    panel = panel_of(window)
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        panel.run_at_cursor()
    assert [case.name for case in panel.result.report.cases] == ["test_ok"]


def test_slash_test_in_the_chat_runs_in_the_panel(make_window: MakeWindow, qtbot: QtBot, project: Path) -> None:
    window = make_window()
    open_project(qtbot, window, project)
    panel = panel_of(window)
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        window.chat.input.setPlainText('/test -k "not slow"')
        window.chat.send()
    qtbot.waitUntil(lambda: "Tests panel" in str(js(qtbot, window, "document.body.innerText")))
    assert panel.result.report.counts["failed"] == 1


def test_fix_with_ai_goes_through_the_model(
    make_window: MakeWindow, qtbot: QtBot, project: Path, qwen3_gguf: Path
) -> None:
    from tests.ui.conftest import load_model

    window = make_window()
    open_project(qtbot, window, project)
    load_model(qtbot, window, qwen3_gguf)
    panel = panel_of(window)
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        panel.run(["-k", "not slow"])
    window.chat.request_overrides = {"max_tokens": 8, "seed": 1}
    panel.fix_selected()  # nothing selected: the first failure
    qtbot.waitUntil(lambda: window.chat.busy, timeout=10_000)
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    # The tiny model writes noise, so no edit comes back; the wiring is what is shown.
    qtbot.waitUntil(lambda: "no edits" in str(js(qtbot, window, "document.body.innerText")), timeout=10_000)


def test_a_project_python_without_pytest_is_named_and_the_chat_does_not_claim_a_run(
    make_window: MakeWindow, qtbot: QtBot, project: Path
) -> None:
    """Issue 26 problem 3: the advice named Quillpad's venv and the chat said the tests were running."""
    import subprocess

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(project / ".venv")], check=True)
    set_project_python(project, None)  # detect: the project's .venv, which has no pytest
    window = make_window()
    open_project(qtbot, window, project)
    panel = panel_of(window)
    window.chat.input.setPlainText("/test")
    window.chat.send()
    qtbot.waitUntil(lambda: "did not start" in str(js(qtbot, window, "document.body.innerText")), timeout=30_000)
    page = str(js(qtbot, window, "document.body.innerText"))
    project_python = str(project / ".venv" / "bin" / "python")
    assert f"pytest is not installed for the project's Python {project_python} (project venv)" in page
    assert f"{project_python} -m pip install pytest" in page and sys.executable not in page
    assert "Running the tests" not in page and not panel.running
    assert f"Python: {project_python} (project venv)" in panel.python_label.text()
    assert "Settings ▸ Project" in panel.python_label.text()
    # Monospace output, names never elided.
    assert panel.output.font().fixedPitch() or "mono" in panel.output.font().family().lower()
