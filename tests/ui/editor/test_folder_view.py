"""Open folder: a file tree whose files open in the editor."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.editor import EditorTabs, FolderView


def test_activating_a_file_opens_it(qtbot: QtBot, tabs: EditorTabs, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n")
    (tmp_path / "README.md").write_text("# hi\n")
    (tmp_path / "__pycache__").mkdir()
    view = FolderView()
    qtbot.addWidget(view)
    view.fileActivated.connect(tabs.open_file)
    with qtbot.waitSignal(view.fs_model.directoryLoaded, timeout=10_000):
        assert view.set_root(str(tmp_path))
    model = view.fs_model
    root = view.rootIndex()
    qtbot.waitUntil(lambda: model.rowCount(root) == 3, timeout=10_000)
    names = {model.fileName(model.index(row, 0, root)): row for row in range(model.rowCount(root))}
    assert view.isRowHidden(names["__pycache__"], root) and not view.isRowHidden(names["README.md"], root)
    view.activated.emit(model.index(names["README.md"], 0, root))
    assert tabs.current_path() == str(tmp_path / "README.md")
    view.activated.emit(model.index(names["src"], 0, root))  # a folder: nothing to open
    assert tabs.count() == 1


def test_a_missing_folder_is_a_notice(qtbot: QtBot, tmp_path: Path) -> None:
    view = FolderView()
    qtbot.addWidget(view)
    seen: list[str] = []
    view.notice.connect(seen.append)
    assert not view.set_root(str(tmp_path / "nope"))
    assert seen == [f"{tmp_path / 'nope'} is not a folder; choose a folder to open."]
