"""Issue 26 problem 7: controls visible in both themes, chips that wrap, Think, panels, status bar, icons."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QCheckBox, QWidget
from pytestqt.qtbot import QtBot

from app.ui.chat.chat_input import ContextItem
from app.ui.shell.main_window import MainWindow

MakeWindow = Callable[[], MainWindow]


def _spread(image: QImage) -> int:
    """How far apart the lightest and darkest pixels are (0: a flat patch, nothing drawn)."""
    values = [QColor(image.pixel(x, y)).lightness() for x in range(image.width()) for y in range(image.height())]
    return max(values) - min(values)


def test_an_unticked_box_is_visible_in_both_themes(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    for theme in ("dark", "light"):
        window.set_theme(theme)
        box = QCheckBox("")
        qtbot.addWidget(box)
        box.resize(20, 20)
        box.show()
        assert _spread(box.grab().toImage()) > 60, theme  # Fusion's outline was within a few shades of the window


def test_toolbar_and_menus_have_icons(make_window: MakeWindow) -> None:
    window = make_window()
    actions = [a for a in window.toolbar.actions() if not a.isSeparator()]
    assert len(actions) >= 10 and all(not a.icon().isNull() for a in actions)
    assert any("Ctrl+Shift+M" in a.toolTip() for a in actions)


def test_chips_wrap_instead_of_widening_the_chat(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    width = window.chat_dock.width()
    for n in range(12):
        window.chat.chips.add(ContextItem(kind="file", label=f"a/rather/long/path/module_{n}.py", text="x = 1\n"))
    qtbot.wait(100)
    assert window.chat_dock.width() <= width + 2
    chips = [w for w in window.chat.chips.findChildren(QWidget) if w.objectName() == "contextChip"]
    assert len(chips) == 12 and len({chip.y() for chip in chips}) > 1  # more than one row


def test_think_is_off_and_greyed_for_a_model_without_a_switch(make_window: MakeWindow) -> None:
    window = make_window()
    window.chat.thinking.setChecked(True)
    window.models.thinkingSwitch.emit(False)
    assert not window.chat.thinking.isEnabled() and not window.chat.thinking.isChecked()
    window.models.thinkingSwitch.emit(True)
    assert window.chat.thinking.isEnabled() and window.chat.thinking.isChecked()  # the user's choice comes back


def test_bottom_panels_wait_for_a_project_and_status_messages_elide(make_window: MakeWindow) -> None:
    window = make_window()
    assert not window.bottom_dock.isVisible()  # the Tests panel took ~40 % of the height before
    long = "Indexed the project: " + "a very long message " * 40
    window.statusBar().showMessage(long)
    shown = window.statusBar().currentMessage()
    assert shown.endswith("…") and len(shown) < len(long) and window.statusBar().toolTip() == long
    assert QApplication.instance() is not None
