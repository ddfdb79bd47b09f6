"""Code references in the window: the diff review and the chat show where code comes from."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import jinja2.utils
import pytest
from pytestqt.qtbot import QtBot

from app.core.edits.proposal import EditProposal, make_change
from app.core.paths import app_paths
from app.core.refs import RefIndex, default_index_path
from app.core.refs.sources import distribution_sources
from app.ui.editor.diff_dialog import CHECKING, DiffPreviewDialog
from app.ui.shell.main_window import MainWindow
from tests.core.refs.test_index import WRITTEN, _longest_function
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]


@pytest.fixture
def jinja_index(isolated_home: Path) -> str:
    """The window's index, holding the real installed Jinja2 (built before the window opens)."""
    index = RefIndex(default_index_path(app_paths()), include_own_environment=False)
    index.update(sources=[s for s in distribution_sources() if s.name == "Jinja2"])
    index.close()
    return _longest_function(jinja2.utils.__file__ or "")


def test_the_diff_review_shows_sources_beside_the_safety_scan(
    make_window: MakeWindow, qtbot: QtBot, jinja_index: str
) -> None:
    window = make_window()
    proposed = WRITTEN.lstrip() + "\n\n" + jinja_index
    change = make_change("src/helpers.py", None, None, proposed)
    dialog = DiffPreviewDialog(EditProposal((change,)), window, refs=window.refs, confirm_matches=True)
    qtbot.addWidget(dialog)
    label = dialog.ref_labels["src/helpers.py"]
    assert CHECKING in label.text()
    qtbot.waitUntil(lambda: "jinja2/utils.py" in label.text(), timeout=20_000)
    text = label.text()
    assert "Jinja2" in text and "BSD" in text and "Matches" in text
    (match,) = dialog.matches["src/helpers.py"]
    assert match.lines[0] > WRITTEN.count("\n")  # only the copied function, not the written code
    assert "≈" in dialog.views["src/helpers.py"][0].toPlainText()  # matching lines highlighted
    # The second confirmation: refused keeps the dialog open, agreed applies.
    asked: list[str] = []
    dialog.confirm = lambda parent, question: asked.append(question) or False
    dialog.accept()
    assert asked and "jinja2/utils.py" in asked[0] and dialog.result() == 0
    dialog.confirm = lambda parent, question: True
    dialog.accept()
    assert dialog.result() == 1


def test_code_written_for_the_test_shows_no_match(make_window: MakeWindow, qtbot: QtBot, jinja_index: str) -> None:
    window = make_window()
    change = make_change("src/seats.py", None, None, textwrap.dedent(WRITTEN))
    dialog = DiffPreviewDialog(EditProposal((change,)), window, refs=window.refs, confirm_matches=True)
    qtbot.addWidget(dialog)
    label = dialog.ref_labels["src/seats.py"]
    qtbot.waitUntil(lambda: CHECKING not in label.text(), timeout=20_000)
    assert "No match" in label.text() and "not proof of originality" in label.text()
    dialog.confirm = lambda parent, question: pytest.fail("asked although nothing matched")
    dialog.accept()
    assert dialog.result() == 1


def test_chat_code_blocks_show_their_source(make_window: MakeWindow, qtbot: QtBot, jinja_index: str) -> None:
    window = make_window()
    view = window.chat.view
    view.start_reply(1)
    view.append_answer(1, "Here is a helper:\n\n```python\n" + jinja_index + "```\n\nand another:\n\n")
    view.append_answer(1, "```python\n" + WRITTEN.lstrip() + "```\n")
    view.finish_reply(1)
    script = "Array.from(document.querySelectorAll('.code-refs')).map(e => e.textContent).join('|')"
    qtbot.waitUntil(lambda: "jinja2/utils.py" in str(js(qtbot, window, script)), timeout=20_000)
    notes = str(js(qtbot, window, script))
    assert "Matches" in notes and "Jinja2" in notes and "lines 1–" in notes
    # One note: the block written for the test has none.
    assert js(qtbot, window, "document.querySelectorAll('.code-refs').length") == 1
    tinted = js(
        qtbot, window, "document.querySelector('.code-refs').parentElement.querySelector('pre').style.backgroundImage"
    )
    assert "linear-gradient" in str(tinted)


def test_settings_tab_round_trips(qtbot: QtBot) -> None:
    from app.core.settings import Settings
    from app.ui.shell.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), refs_status="3 packages and folders.")
    qtbot.addWidget(dialog)
    assert dialog.refs_status.text() == "3 packages and folders."
    dialog.refs_confirm.setChecked(True)
    dialog.refs_min_tokens.setValue(60)
    dialog.refs_folders.setPlainText("/src/lib-a\n\n  /src/lib-b  \n")
    refs = dialog.result_settings().refs
    assert (refs.confirm_matches, refs.min_tokens, refs.folders) == (True, 60, ["/src/lib-a", "/src/lib-b"])


def test_no_match_says_when_the_index_is_not_built_yet(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()  # no index in this home, and its first update has not started
    change = make_change("src/seats.py", None, None, textwrap.dedent(WRITTEN))
    dialog = DiffPreviewDialog(EditProposal((change,)), window, refs=window.refs)
    qtbot.addWidget(dialog)
    label = dialog.ref_labels["src/seats.py"]
    qtbot.waitUntil(lambda: CHECKING not in label.text(), timeout=20_000)
    assert "No match" in label.text() and "has not been built yet" in label.text()


def test_an_index_from_an_earlier_session_needs_no_caveat(make_window: MakeWindow, jinja_index: str) -> None:
    assert make_window().refs.caveat() == ""
