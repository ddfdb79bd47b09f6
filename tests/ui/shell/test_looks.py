"""Issue 26 problem 7: controls visible in both themes, chips that wrap, Think, panels, status bar, icons,
one spacing and type scale, focus rings, diff colours per theme."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFont, QImage
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.core.edits.proposal import EditProposal, make_change
from app.ui.chat.chat_input import ContextItem
from app.ui.editor.diff_dialog import DiffPreviewDialog
from app.ui.shell.main_window import MainWindow
from app.ui.theme.colours import DARK, DARK_DIFF, LIGHT, LIGHT_DIFF, diff_colours
from app.ui.theme.scale import (
    CONTROL_SPACING,
    MIN_BASE_POINT_SIZE,
    PANEL_MARGIN,
    UNIT,
    WINDOW_MARGIN,
    Space,
    type_scale,
)
from tests.core.git.conftest import make_repo

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


# -- one spacing and type scale ----------------------------------------------------------------------------------


def test_layouts_follow_the_spacing_scale(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    window.open_folder(str(make_repo(tmp_path / "p", {"a.py": "x = 1\n"})))
    dialog = QDialog()
    qtbot.addWidget(dialog)
    outer = QVBoxLayout(dialog)
    panel = QWidget(dialog)
    inner = QHBoxLayout(panel)
    assert outer.contentsMargins().left() == WINDOW_MARGIN and outer.spacing() == CONTROL_SPACING
    assert inner.contentsMargins().top() == PANEL_MARGIN and inner.spacing() == CONTROL_SPACING
    # A plugin's panel follows it without knowing about it (Fusion's own: 9 px margins, 6 px spacing).
    tests_panel = window.bottom_tabs.widget(0)
    layout = tests_panel.layout()
    assert layout is not None and layout.contentsMargins().left() == PANEL_MARGIN
    chat = window.chat.layout()
    assert chat is not None and chat.contentsMargins().left() == Space.S
    for value in (WINDOW_MARGIN, PANEL_MARGIN, CONTROL_SPACING, Space.XS, Space.M, Space.L, Space.XL):
        assert value % UNIT == 0


def test_labels_take_their_size_from_the_type_scale(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    scale = type_scale(app.font())
    assert scale.base >= MIN_BASE_POINT_SIZE and app.font().pointSizeF() == scale.base
    assert scale.secondary < scale.base < scale.title < scale.heading
    window.welcome.heading.ensurePolished()
    assert window.welcome.heading.font().pointSizeF() == scale.heading
    assert window.welcome.heading.font().weight() >= QFont.Weight.DemiBold
    repo = make_repo(tmp_path / "r", {"a.py": "x = 1\n"})
    (repo / "a.py").write_text("x = 2\n")
    window.open_folder(str(repo))
    qtbot.waitUntil(lambda: window.git.repo is not None, timeout=30_000)
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.busy, timeout=30_000)
    sizes = {label.text(): label.font().pointSizeF() for label in dialog.findChildren(QLabel) if label.text()}
    assert sizes["Changes"] == sizes["Message"] == scale.title
    assert sizes["ticked files are staged"] == scale.secondary
    assert sizes[dialog.summary_hint.text()] == scale.secondary
    assert dialog.layout() is not None and dialog.layout().contentsMargins().left() == WINDOW_MARGIN


# -- focus rings ---------------------------------------------------------------------------------------------------


def _distance(a: QColor, b: QColor) -> int:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue())


def _edge(widget: QWidget) -> QColor:
    """The colour of the control's left edge, halfway down (where the outline or ring is)."""
    image = widget.grab().toImage()
    return QColor(image.pixel(0, image.height() // 2))


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_focused_control_shows_a_ring_in_both_themes(make_window: MakeWindow, qtbot: QtBot, theme: str) -> None:
    window = make_window()
    window.set_theme("dark" if theme == "dark" else "light")
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    sheet = app.styleSheet()
    for kind in ("QPushButton", "QToolButton", "QLineEdit", "QPlainTextEdit", "QTextEdit", "QComboBox"):
        assert f"{kind}:focus" in sheet
    assert "QAbstractSpinBox:focus" in sheet
    colours = DARK if theme == "dark" else LIGHT
    accent, window_colour = QColor(colours.accent), QColor(colours.window)
    assert contrast(accent, window_colour) >= 3  # WCAG's minimum for a focus indicator
    host = QWidget()
    qtbot.addWidget(host)
    row = QVBoxLayout(host)
    combo = QComboBox()
    combo.addItems(["one", "two"])
    pairs: list[tuple[QWidget, QWidget]] = [
        (QLineEdit(), QLineEdit()),
        (QPushButton("Run"), QPushButton("Run")),
        (combo, QComboBox()),
        (QSpinBox(), QSpinBox()),
        (QPlainTextEdit(), QPlainTextEdit()),
    ]
    for focused, other in pairs:
        row.addWidget(focused)
        row.addWidget(other)
    host.show()
    host.activateWindow()
    qtbot.waitUntil(host.isActiveWindow)
    for focused, other in pairs:
        focused.setFocus()
        qtbot.waitUntil(focused.hasFocus)
        ring, plain = _edge(focused), _edge(other)
        name = type(focused).__name__
        assert _distance(ring, accent) < 40, (name, ring.name())
        assert _distance(plain, accent) > 120, (name, plain.name())  # the unfocused one has no ring


# -- diffs in the theme's colours --------------------------------------------------------------------------------


def _luminance(colour: QColor) -> float:
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())


def contrast(a: QColor, b: QColor) -> float:
    """WCAG's contrast ratio."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("dark", [False, True])
def test_diff_lines_are_readable_in_both_themes(dark: bool) -> None:
    colours = diff_colours(dark)
    base = QColor(DARK.base if dark else LIGHT.base)
    for kind in ("+", "-"):
        background = QColor(colours.background(kind))
        assert (_luminance(background) < 0.08) == dark, kind  # dark rows in the dark theme, light ones in light
        assert contrast(QColor(colours.text(kind)), background) >= 4.5, kind  # WCAG AA for text
    assert contrast(QColor(colours.context_text), base) >= 4.5
    assert contrast(QColor(colours.hunk), base) >= 4.5 and contrast(QColor(colours.header), base) >= 4.5
    matched = QColor(colours.matched_background)
    assert contrast(QColor(colours.added_text), matched) >= 4.5


def _row_colour(view: QWidget, text: str) -> QColor:
    """The background of the diff row holding ``text``, sampled near the view's right edge (no glyphs there)."""
    assert isinstance(view, QTextBrowser)
    found = view.document().find(text)
    assert not found.isNull(), text
    rect = view.cursorRect(found)
    image = view.viewport().grab().toImage()
    return QColor(image.pixel(view.viewport().width() - 12, rect.center().y()))


def test_the_commit_dialog_diff_follows_the_theme(make_window: MakeWindow, qtbot: QtBot, tmp_path: Path) -> None:
    window = make_window()
    window.set_theme("dark")
    repo = make_repo(tmp_path / "shop", {"cart.py": "TOTAL = 0\n"})
    (repo / "cart.py").write_text("TOTAL = 10\n")
    window.open_folder(str(repo))
    qtbot.waitUntil(lambda: window.git.repo is not None, timeout=30_000)
    dialog = window.git.open_commit_dialog()
    assert dialog is not None
    dialog.resize(1000, 700)
    qtbot.waitUntil(lambda: "TOTAL = 10" in dialog.diff_view.toPlainText(), timeout=30_000)
    added, removed = _row_colour(dialog.diff_view, "+TOTAL = 10"), _row_colour(dialog.diff_view, "-TOTAL = 0")
    assert added == QColor(DARK_DIFF.added_background) and removed == QColor(DARK_DIFF.removed_background)
    assert _luminance(added) < 0.08 and _luminance(removed) < 0.08  # it was #e8f5e9 / #ffebee on a dark window
    window.set_theme("light")  # the open dialog draws its diff again (on the git thread)
    qtbot.waitUntil(lambda: _row_colour(dialog.diff_view, "+TOTAL = 10") == QColor(LIGHT_DIFF.added_background))
    assert _row_colour(dialog.diff_view, "-TOTAL = 0") == QColor(LIGHT_DIFF.removed_background)


def test_the_edit_review_follows_the_theme(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    window.set_theme("dark")
    change = make_change("a.py", None, "x = 1\n", "x = 2\n")
    dialog = DiffPreviewDialog(EditProposal((change,)), window)
    qtbot.addWidget(dialog)
    dialog.resize(800, 500)
    dialog.show()
    view = dialog.views["a.py"][0]
    assert _row_colour(view, "x = 2") == QColor(DARK_DIFF.added_background)
    window.set_theme("light")
    assert _row_colour(view, "x = 2") == QColor(LIGHT_DIFF.added_background)
    assert _row_colour(view, "x = 1") == QColor(LIGHT_DIFF.removed_background)


# -- bottom panels ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_bottom_panels_open_at_a_quarter_even_after_a_tall_session(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path, theme: str
) -> None:
    first = make_window()
    first.set_theme("dark" if theme == "dark" else "light")
    first.resize(1400, 860)
    first.open_evaluation()  # the Evaluate panel needs more height than a quarter
    qtbot.waitUntil(lambda: first.bottom_dock.height() > 0.3 * first.height())
    first.shutdown()  # saves this layout, as closing the window does
    window = make_window()  # restores it, as the next start does
    window.resize(1400, 860)
    qtbot.wait(50)
    assert not window.bottom_dock.isVisible() and not window.tree_dock.isVisible()  # nothing open yet
    window.open_folder(str(make_repo(tmp_path / "p", {"a.py": "x = 1\n"})))
    qtbot.waitUntil(window.bottom_dock.isVisible)
    qtbot.wait(50)
    assert 0.2 <= window.bottom_dock.height() / window.height() <= 0.3, window.bottom_dock.height()
