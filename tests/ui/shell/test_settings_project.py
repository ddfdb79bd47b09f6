"""Issue 26 problem 3: the project's interpreter can be changed per project in Settings ▸ Project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.settings import Settings
from app.core.testing.interpreter import project_key
from app.ui.shell.settings_dialog import SettingsDialog


def test_the_project_tab_shows_the_detected_python_and_keeps_a_choice_per_project(qtbot: QtBot, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / ".venv")], check=True)
    other = tmp_path / "other"
    settings = Settings.model_validate({"projects": {project_key(other): {"python": "/opt/py/bin/python"}}})
    dialog = SettingsDialog(settings, project_root=root)
    qtbot.addWidget(dialog)
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "Project" in titles
    assert dialog.project_python.text() == ""
    assert dialog.project_python.placeholderText() == f"detected: {root / '.venv' / 'bin' / 'python'} (project venv)"
    dialog.project_python.setText(sys.executable)
    result = dialog.result_settings()
    assert result.projects[project_key(root)].python == sys.executable
    assert result.projects[project_key(other)].python == "/opt/py/bin/python"  # other projects keep theirs
    without_project = SettingsDialog(settings)
    qtbot.addWidget(without_project)
    assert "Project" not in [without_project.tabs.tabText(i) for i in range(without_project.tabs.count())]
