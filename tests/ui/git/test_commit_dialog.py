"""The commit dialog's git work runs on its own thread: the GUI keeps ticking, results land in order,
conflicting controls wait, and closing leaves nothing running."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QTimer
from pytestqt.qtbot import QtBot

import app.ui.git.commit_dialog as commit_dialog
from app.core.git import GitRepo
from app.ui.git.commit_dialog import CommitDialog, Snapshot
from app.ui.shell.main_window import MainWindow
from tests.core.git.conftest import make_repo, run_git
from tests.ui.git.test_git_in_window import open_repo

MakeWindow = Callable[[], MainWindow]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = make_repo(tmp_path / "shop", {"cart.py": "TOTAL = 0\n", "tax.py": "RATE = 0\n"})
    (folder / "cart.py").write_text("TOTAL = 1\n")
    (folder / "tax.py").write_text("RATE = 1\n")
    (folder / "notes.txt").write_text("todo\n")
    return folder


class Gate:
    """Holds the real ``stage`` on the git thread until the test opens it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.opened_in_time: bool | None = None
        real = commit_dialog.stage

        def held_stage(repo: GitRepo, paths: Sequence[str | Path]) -> None:
            self.started.set()
            self.opened_in_time = self.release.wait(20)
            real(repo, paths)

        monkeypatch.setattr(commit_dialog, "stage", held_stage)


def _staged(repo: Path) -> set[str]:
    return set(run_git(repo, "diff", "--cached", "--name-only").split())


def _open(window: MainWindow, qtbot: QtBot, repo: Path) -> CommitDialog:
    open_repo(window, qtbot, repo)
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    assert dialog.files.count() == 3
    return dialog


def test_staging_runs_while_the_gui_keeps_ticking(
    make_window: MakeWindow, qtbot: QtBot, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    dialog = _open(window, qtbot, repo)
    gate = Gate(monkeypatch)
    ticks: list[int] = []
    seen_busy: list[tuple[bool, bool, bool, str]] = []

    def tick() -> None:
        # Only a GUI thread that is free runs this timer; the third tick lets the staging go on.
        ticks.append(1)
        seen_busy.append(
            (
                dialog.files.isEnabled(),
                dialog.stage_all_button.isEnabled(),
                dialog.commit_button.isEnabled(),
                dialog.busy_label.text(),
            )
        )
        if len(ticks) == 3:
            gate.release.set()

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    dialog.message.setPlainText("Stage everything")
    timer.start()
    with qtbot.waitSignal(dialog.idle, timeout=30_000):
        dialog.stage_all_button.click()
        assert dialog.busy and dialog.busy_label.text() == "Staging…"
    timer.stop()
    assert gate.opened_in_time is True  # the GUI thread was free while git worked
    assert seen_busy[0] == (False, False, False, "Staging…")
    assert _staged(repo) == {"cart.py", "tax.py", "notes.txt"}
    checked = [dialog.files.item(i).checkState() == dialog.files.item(i).checkState().Checked for i in range(3)]
    assert checked == [True, True, True]
    assert dialog.files.isEnabled() and dialog.commit_button.isEnabled() and dialog.busy_label.text() == ""
    dialog.reject()


def test_results_land_in_the_order_asked(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    dialog = _open(window, qtbot, repo)
    shown: list[set[str]] = []
    dialog.refreshed.connect(lambda snap: shown.append({e.path for e in snap.entries if e.staged}))
    with qtbot.waitSignal(dialog.idle, timeout=30_000):
        dialog.set_staged(True, ["cart.py", "tax.py", "notes.txt"])
        dialog.set_staged(False, ["cart.py", "tax.py", "notes.txt"])
        dialog.set_staged(True, ["cart.py"])
        dialog.refresh()
    assert shown == [{"cart.py", "tax.py", "notes.txt"}, set(), {"cart.py"}, {"cart.py"}]
    assert _staged(repo) == {"cart.py"}
    dialog.reject()


def test_closing_during_a_job_leaves_nothing_running(
    make_window: MakeWindow, qtbot: QtBot, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    dialog = _open(window, qtbot, repo)
    gate = Gate(monkeypatch)
    late: list[Snapshot] = []
    dialog.refreshed.connect(late.append)
    dialog.set_staged(True, ["cart.py"])
    qtbot.waitUntil(gate.started.is_set, timeout=30_000)
    dialog.refresh()  # queued behind the running job: dropped by the close
    gate.release.set()
    window.git.close()  # the window's folder closes: so does the dialog, after its running job
    assert not dialog.isVisible() and dialog.git_tasks.active_threads() == 0
    QCoreApplication.processEvents()  # a result already queued for the GUI thread must not be applied
    assert late == [] and _staged(repo) == {"cart.py"}
