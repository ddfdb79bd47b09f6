"""Fixtures for the editor pane: EditorTabs whose questions fail the test unless a test answers them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.drafts import DraftStore, drafts_folder
from app.core.paths import app_paths
from app.ui.editor import EditorTabs
from tests.ui.conftest import QUESTIONS, unexpected_question


@pytest.fixture
def drafts_dir(isolated_home: Path) -> Path:
    return drafts_folder(app_paths())


@pytest.fixture
def make_tabs(qtbot: QtBot, drafts_dir: Path) -> Callable[[], EditorTabs]:
    """Build shown EditorTabs on the isolated drafts folder; no real dialog can ever open."""

    def make() -> EditorTabs:
        tabs = EditorTabs(DraftStore(drafts_dir))
        for name in QUESTIONS:
            setattr(tabs, name, unexpected_question(name))
        qtbot.addWidget(tabs)
        tabs.resize(800, 600)
        tabs.show()
        return tabs

    return make


@pytest.fixture
def tabs(make_tabs: Callable[[], EditorTabs]) -> EditorTabs:
    return make_tabs()


@pytest.fixture
def notices(tabs: EditorTabs) -> list[str]:
    """Every notice the tabs emit, in order."""
    seen: list[str] = []
    tabs.notice.connect(seen.append)
    return seen


def recorder(answer: Any, log: list[Any]) -> Callable[..., Any]:
    """A question that notes what it was asked in ``log`` and always gives ``answer``."""

    def ask(*args: Any) -> Any:
        log.append(args[0] if len(args) == 1 else args)
        return answer

    return ask
