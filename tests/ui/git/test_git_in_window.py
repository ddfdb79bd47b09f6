"""Git in the window: status marks from watcher events, branch label, diff view,
commit dialog with a scripted message, checkpoints and undo of AI edits across a restart."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.edits.proposal import EditProposal, make_change
from app.core.plugins.contributions import CommandResult
from app.ui.shell.main_window import MainWindow
from tests.core.git.conftest import make_repo, run_git
from tests.fixtures.scripted_model import ScriptedModel
from tests.ui.conftest import load_model

MakeWindow = Callable[[], MainWindow]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "shop",
        {"cart.py": "TOTAL = 0\n", "docs/readme.md": "# Shop\n", ".gitignore": "*.log\n"},
    )


def open_repo(window: MainWindow, qtbot: QtBot, folder: Path) -> None:
    window.open_folder(str(folder))
    qtbot.waitUntil(lambda: window.git.status is not None, timeout=30_000)


def kind(window: MainWindow, path: Path) -> str | None:
    return window.tree.git_kind(window.tree.fs_model.index(str(path)))


def test_marks_and_branch_follow_the_watcher(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    assert window.git.branch_label.text() == "⎇ main" and window.git.branch_label.isVisible()
    assert window.git.commit_action.isVisible() and not window.git.init_action.isVisible()
    assert window.plugins.host.git is not None and window.plugins.host.git.status() == []
    qtbot.waitUntil(lambda: window.project.project is not None and window.project.project.watch_mode != "off",
                    timeout=30_000)  # fmt: skip
    qtbot.waitUntil(lambda: bool(window.project.complete_file("cart")), timeout=30_000)
    (repo / "cart.py").write_text("TOTAL = 1\n")
    (repo / "new.py").write_text("x = 1\n")
    (repo / "debug.log").write_text("noise\n")
    # No polling: the watcher's batch of changed files triggers the refresh.
    qtbot.waitUntil(lambda: kind(window, repo / "cart.py") == "modified", timeout=30_000)
    qtbot.waitUntil(lambda: kind(window, repo / "new.py") == "untracked", timeout=30_000)
    assert kind(window, repo / "debug.log") == "ignored" and kind(window, repo / "docs") is None
    dialog = window.git.show_file_diff(str(repo / "cart.py"))
    assert dialog is not None
    html = dialog.view.toHtml()
    assert "TOTAL = 1" in html and "TOTAL = 0" in html
    dialog.base_box.setCurrentIndex(2)  # staged: nothing yet
    assert "No changes" in dialog.view.toPlainText()
    dialog.close()
    actions = window.tree.context_actions(window.tree.fs_model.index(str(repo / "cart.py")))
    assert [label for label, _ in actions] == ["Show git diff"]
    assert window.tree.context_actions(window.tree.fs_model.index(str(repo / "debug.log"))) == []
    with qtbot.waitSignal(window.tree.diffRequested) as requested:
        actions[0][1]()
    assert requested.args == [str(repo / "cart.py")]
    tree_dialog = window.git.show_tree_diff()
    assert tree_dialog is not None and "new.py" in tree_dialog.view.toPlainText()
    tree_dialog.close()


def test_commit_dialog_with_a_scripted_message(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    (repo / "cart.py").write_text("TOTAL = 10\n")
    (repo / "notes.txt").write_text("todo\n")
    model = ScriptedModel(["Raise the starting total\n\nThe cart starts at ten now."], thinking="hmm, a diff")
    window.plugins.host.model = model
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    items = {dialog.files.item(i).data(256): dialog.files.item(i) for i in range(dialog.files.count())}
    assert set(items) == {"cart.py", "notes.txt"}
    assert not dialog.commit_button.isEnabled()  # nothing staged
    with qtbot.waitSignal(dialog.idle, timeout=30_000):
        items["cart.py"].setCheckState(items["cart.py"].checkState().Checked)
    assert run_git(repo, "diff", "--cached", "--name-only") == "cart.py\n"
    with qtbot.waitSignal(dialog.message.textChanged, timeout=30_000):
        dialog.write_message()
    qtbot.waitUntil(lambda: dialog.write_button.text() == "Write with AI", timeout=30_000)
    assert dialog.message.toPlainText() == "Raise the starting total\n\nThe cart starts at ten now."
    assert "+TOTAL = 10" in model.last_prompt and "notes.txt" not in model.last_prompt
    dialog.message.setPlainText(dialog.message.toPlainText() + "\n\nEdited by hand.")
    assert dialog.commit_button.isEnabled()
    dialog.do_commit()
    assert run_git(repo, "log", "-1", "--format=%B").strip().endswith("Edited by hand.")
    assert run_git(repo, "status", "--porcelain=v1") == "?? notes.txt\n"


def test_no_commit_while_conflicted(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    run_git(repo, "checkout", "-q", "-b", "other")
    (repo / "cart.py").write_text("TOTAL = 2\n")
    run_git(repo, "commit", "-q", "-am", "two")
    run_git(repo, "checkout", "-q", "main")
    (repo / "cart.py").write_text("TOTAL = 3\n")
    run_git(repo, "commit", "-q", "-am", "three")
    with pytest.raises(AssertionError):
        run_git(repo, "merge", "other")
    window = make_window()
    open_repo(window, qtbot, repo)
    assert kind(window, repo / "cart.py") == "conflicted"
    assert "1 conflicted" in window.git.branch_label.text()
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    dialog.message.setPlainText("Merge")
    assert not dialog.commit_button.isEnabled() and "Merge conflicts in cart.py" in dialog.state_label.text()
    dialog.close()


def test_a_folder_that_is_not_a_repository(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "a.py").write_text("a = 1\n")
    window = make_window()
    window.open_folder(str(folder))
    assert window.git.repo is None and window.plugins.host.git is None
    assert not window.git.commit_action.isVisible() and window.git.init_action.isVisible()
    assert not window.git.branch_label.isVisible()
    window.git.initialise()
    qtbot.waitUntil(lambda: window.git.state is not None, timeout=30_000)
    assert window.git.branch_label.text().endswith("(no commits)")
    assert kind(window, folder / "a.py") == "untracked"


def _ai_edit(root: Path) -> EditProposal:
    changes = (
        make_change("cart.py", root / "cart.py", (root / "cart.py").read_text(), "TOTAL = 99\n", scan=False),
        make_change("pricing/tax.py", root / "pricing" / "tax.py", None, "RATE = 0.2\n", scan=False),
    )
    return EditProposal(changes, (), root)


def test_undo_of_ai_edits_after_a_restart(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    window.open_path(str(repo / "cart.py"))
    window.plugins.review = lambda proposal, parent: proposal.accept_all()
    window.plugins.carry_out(CommandResult(proposal=_ai_edit(repo)))
    assert (repo / "pricing" / "tax.py").read_text() == "RATE = 0.2\n"
    assert window.tabs.save_path(str(repo / "cart.py"))
    assert (repo / "cart.py").read_text() == "TOTAL = 99\n"
    window.close()
    window.shutdown()

    again = make_window()  # a fresh window: the checkpoints are in the repository
    open_repo(again, qtbot, repo)
    changes = again.git.store_for().ai_changes()  # type: ignore[union-attr]
    assert [c.checkpoint.label for c in changes] == ["AI edit of cart.py, pricing/tax.py"]
    again.open_path(str(repo / "cart.py"))
    result = again.git.undo_last()
    assert result is not None and result.deleted == ("pricing/tax.py",)
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n" and not (repo / "pricing").exists()
    editor = again.tabs.current_editor()
    assert editor is not None and editor.text() == "TOTAL = 0\n"
    assert run_git(repo, "status", "--porcelain=v1") == ""
    assert run_git(repo, "rev-list", "--count", "HEAD").strip() == "1"  # no commit on the user's branch


def test_auto_commit_names_the_model(make_window: MakeWindow, qtbot: QtBot, repo: Path, qwen3_gguf: Path) -> None:
    window = make_window()
    load_model(qtbot, window, qwen3_gguf)
    open_repo(window, qtbot, repo)
    window.git.auto_commit_action.trigger()
    assert window.settings.git.auto_commit_ai_edits
    window.plugins.review = lambda proposal, parent: proposal.accept_all()
    window.plugins.carry_out(CommandResult(proposal=_ai_edit(repo)))
    message = run_git(repo, "log", "-1", "--format=%B")
    assert message.startswith("AI edit: cart.py, pricing/tax.py")
    trailer = next(line for line in message.splitlines() if line.startswith("Generated-by:"))
    assert trailer.startswith("Generated-by: Quillpad (model tiny-qwen3.gguf, temperature 0.6, top_p 0.95, top_k 20")
    assert trailer.endswith("thinking on, seed random, context 4096)")
    assert window.git.store_for().ai_changes()[0].checkpoint.model == "tiny-qwen3.gguf"  # type: ignore[union-attr]
    assert run_git(repo, "status", "--porcelain=v1") == ""
    assert window.git.undo_last() is not None
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n"


def test_a_submodule_on_a_detached_head(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, repo: Path) -> None:
    library = make_repo(tmp_path / "library", {"lib.py": "VALUE = 1\n"})
    run_git(repo, "submodule", "add", "-q", str(library), "vendor/library")
    run_git(repo, "commit", "-q", "-m", "add the library")
    inner = repo / "vendor" / "library"
    head = run_git(inner, "rev-parse", "HEAD").strip()
    run_git(inner, "checkout", "-q", "--detach")
    (inner / "lib.py").write_text("VALUE = 2\n")
    window = make_window()
    open_repo(window, qtbot, inner)
    assert window.git.branch_label.text() == f"⎇ detached at {head[:7]} (submodule)"
    assert kind(window, inner / "lib.py") == "modified"
    assert window.git.repo is not None and window.git.repo.root == inner.resolve()


def test_without_a_git_program_the_features_hide_with_a_notice(
    make_window: MakeWindow, qtbot: QtBot, repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window()
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with qtbot.waitSignal(window.git.notice, timeout=5_000) as notice:
        window.git.open(str(repo))
    assert notice.args == [
        "Git features need the git program, which was not found on PATH; install git and restart Quillpad."
    ]
    assert window.git.repo is None and window.plugins.host.git is None
    assert not window.git.commit_action.isVisible() and not window.git.init_action.isVisible()
    # AI edits are still checkpointed (in the app's own store) and can be undone.
    window.plugins.review = lambda proposal, parent: proposal.accept_all()
    window.plugins.carry_out(CommandResult(proposal=_ai_edit(repo)))
    assert (repo / "pricing" / "tax.py").exists()
    assert window.git.undo_last() is not None and not (repo / "pricing").exists()


def test_the_list_of_ai_changes_undoes_an_earlier_one(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    window.plugins.review = lambda proposal, parent: proposal.accept_all()
    window.plugins.carry_out(CommandResult(proposal=_ai_edit(repo)))
    assert window.tabs.save_path(str(repo / "cart.py"))
    second = make_change("cart.py", repo / "cart.py", "TOTAL = 99\n", "TOTAL = 100\n", scan=False)
    window.plugins.carry_out(CommandResult(proposal=EditProposal((second,), (), repo)))
    assert window.tabs.save_path(str(repo / "cart.py"))
    dialog = window.git.show_ai_changes()
    assert dialog is not None and dialog.list.count() == 2
    assert dialog.list.currentRow() == 0 and "AI edit of cart.py" in dialog.list.item(0).text()
    dialog.list.setCurrentRow(1)  # the older one: the newer goes too
    dialog.undo_button.click()
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n" and not (repo / "pricing").exists()
    editor = window.tabs.current_editor()
    assert editor is not None and editor.text() == "TOTAL = 0\n"
    changes = window.git.store_for().ai_changes()  # type: ignore[union-attr]
    assert [c.undone for c in changes] == [True, True]
    again = window.git.show_ai_changes()
    assert again is not None and not again.undo_button.isEnabled()
    again.close()


TYPED = "TOTAL = 5  # typed, not saved yet\n"


def _type_and_apply(window: MainWindow, repo: Path) -> None:
    """Unsaved text in cart.py's tab, then an AI edit of that tab (and a new file)."""
    window.open_path(str(repo / "cart.py"))
    editor = window.tabs.current_editor()
    assert editor is not None
    editor.selectAll()
    editor.insertPlainText(TYPED)
    assert window.tabs.current_page().is_dirty  # type: ignore[union-attr]
    changes = (
        make_change("cart.py", repo / "cart.py", TYPED, "TOTAL = 99\n", scan=False),
        make_change("pricing/tax.py", repo / "pricing" / "tax.py", None, "RATE = 0.2\n", scan=False),
    )
    window.plugins.review = lambda proposal, parent: proposal.accept_all()
    window.plugins.carry_out(CommandResult(proposal=EditProposal(changes, (), repo)))
    assert editor.text() == "TOTAL = 99\n" and (repo / "pricing" / "tax.py").exists()
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n"  # the AI edit went into the tab only


def _tab(window: MainWindow, path: Path) -> object:
    return next(page for page in window.tabs.pages() if page.path and Path(page.path).resolve() == path.resolve())


def test_undo_gives_the_tab_its_unsaved_text_back(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    _type_and_apply(window, repo)
    result = window.git.undo_last()
    assert result is not None and dict(result.buffers) == {"cart.py": TYPED}
    assert "your unsaved text is back in cart.py" in window.statusBar().full_message()  # the bar may elide it
    page = _tab(window, repo / "cart.py")
    assert page.editor.text() == TYPED and page.is_dirty  # type: ignore[attr-defined]
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n" and not (repo / "pricing").exists()
    assert run_git(repo, "status", "--porcelain=v1") == ""
    # The tab's history is intact: Ctrl+Z walks back through the undo to the AI's text, then to the typing.
    page.editor.undo()  # type: ignore[attr-defined]
    assert page.editor.text() == "TOTAL = 0\n"  # type: ignore[attr-defined]
    page.editor.undo()  # type: ignore[attr-defined]
    assert page.editor.text() == "TOTAL = 99\n"  # type: ignore[attr-defined]
    page.editor.undo()  # type: ignore[attr-defined]
    assert page.editor.text() == TYPED  # type: ignore[attr-defined]


def test_unsaved_text_comes_back_after_a_restart(make_window: MakeWindow, qtbot: QtBot, repo: Path) -> None:
    window = make_window()
    open_repo(window, qtbot, repo)
    _type_and_apply(window, repo)
    window.tabs.ask_save_changes = lambda titles: "discard"  # type: ignore[method-assign]
    window.close()
    window.shutdown()

    again = make_window()
    open_repo(again, qtbot, repo)
    assert not any(page.path for page in again.tabs.pages())  # the tab was closed with the window
    result = again.git.undo_last()
    assert result is not None and result.deleted == ("pricing/tax.py",)
    page = _tab(again, repo / "cart.py")  # reopened with the text the user had typed
    assert page.editor.text() == TYPED and page.is_dirty  # type: ignore[attr-defined]
    assert again.tabs.current_page() is page
    assert (repo / "cart.py").read_text() == "TOTAL = 0\n" and not (repo / "pricing").exists()
    assert run_git(repo, "status", "--porcelain=v1") == ""
    page.editor.undo()  # type: ignore[attr-defined]
    assert page.editor.text() == "TOTAL = 0\n"  # type: ignore[attr-defined]


def test_write_with_ai_streams_into_the_box_and_stops(
    make_window: MakeWindow, qtbot: QtBot, repo: Path, slow_gguf: Path
) -> None:
    """Issue 26 problem 4: "Writing…" for minutes with nothing shown and no way to cancel.

    A real (random-weight) model: its text appears in the box as it is written, the dialog stays
    usable (staging works meanwhile), Stop ends the reply and keeps what was written.
    """
    window = make_window()
    load_model(qtbot, window, slow_gguf)
    open_repo(window, qtbot, repo)
    (repo / "cart.py").write_text("TOTAL = 10\n")
    (repo / "notes.txt").write_text("todo\n")
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    items = {dialog.files.item(i).data(256): dialog.files.item(i) for i in range(dialog.files.count())}
    with qtbot.waitSignal(dialog.idle, timeout=30_000):
        items["cart.py"].setCheckState(items["cart.py"].checkState().Checked)
    dialog.write_message()
    qtbot.waitUntil(lambda: dialog.stop_button.isVisible(), timeout=30_000)
    qtbot.waitUntil(lambda: len(dialog.message.toPlainText()) > 0, timeout=60_000)  # streamed, not at the end
    assert dialog.write_button.text() == "Writing…" and dialog.message.isReadOnly()
    items = {dialog.files.item(i).data(256): dialog.files.item(i) for i in range(dialog.files.count())}
    with qtbot.waitSignal(dialog.idle, timeout=30_000):  # the rest of the dialog stays usable
        items["notes.txt"].setCheckState(items["notes.txt"].checkState().Checked)
    assert set(run_git(repo, "diff", "--cached", "--name-only").split()) == {"cart.py", "notes.txt"}
    partial = dialog.message.toPlainText()
    dialog.stop_button.click()
    qtbot.waitUntil(lambda: dialog.write_button.text() == "Write with AI", timeout=30_000)
    assert not dialog.stop_button.isVisible() and not dialog.message.isReadOnly()
    assert dialog.message.toPlainText().startswith(partial[:1]) and "Stopped" in dialog.notice.text()
    dialog.close()
