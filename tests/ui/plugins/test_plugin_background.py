"""The plugin API in the window: background work off the GUI thread, the conversation id, declared options."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QCheckBox, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from app.api import (
    BackgroundWork,
    Cancelled,
    CancelToken,
    CommandInvocation,
    CommandResult,
    PluginContext,
    PluginInfo,
    PluginSetting,
    SlashCommand,
    hookimpl,
)
from app.core.paths import app_paths
from app.core.settings import load_settings
from app.ui.shell.main_window import MainWindow
from app.ui.shell.settings_dialog import SettingsDialog
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]
TICKS = 5


class GatedPlugin:
    """``/slow`` works in the background until ``release`` is set; ``/where`` names the conversation."""

    info = PluginInfo(
        "Gated",
        "1.0",
        "Slow work for tests.",
        settings=(
            PluginSetting("loud", "Shout the result", False),
            PluginSetting("times", "Times", 2),
            PluginSetting("word", "Word", "done"),
        ),
    )

    def __init__(self) -> None:
        self.release = threading.Event()
        self.on_gui_thread: bool | None = None
        self.conversations: list[int | None] = []

    @hookimpl
    def quillpad_slash_commands(self, context: PluginContext) -> list[SlashCommand]:
        return [
            SlashCommand("slow", "slow work", self.slow),
            SlashCommand("where", "the conversation", self.where),
        ]

    def where(self, invocation: CommandInvocation) -> CommandResult:
        self.conversations.append(invocation.conversation_id)
        return CommandResult(f"conversation {invocation.conversation_id}")

    def slow(self, invocation: CommandInvocation) -> CommandResult:
        word = str(invocation.context.option("word"))

        def run(token: CancelToken) -> CommandResult:
            self.on_gui_thread = threading.current_thread() is threading.main_thread()
            while not self.release.is_set():
                if token.wait(0.01):
                    raise Cancelled()
            return CommandResult(message=f"slow work {word}")

        return CommandResult(background=BackgroundWork("Working slowly…", run))


def page_text(qtbot: QtBot, window: MainWindow) -> str:
    return str(js(qtbot, window, "document.body.innerText"))


def with_gated(window: MainWindow) -> GatedPlugin:
    plugin = GatedPlugin()
    window.plugins.manager.register(plugin, "gated")
    return plugin


def test_the_gui_thread_keeps_ticking_while_background_work_runs(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    plugin = with_gated(window)
    ticks: list[bool] = []  # whether the work was still running at each tick of a GUI-thread timer

    def tick() -> None:
        ticks.append(window.plugins.working)
        if len(ticks) == TICKS:
            plugin.release.set()  # the work can only end after the GUI thread ticked TICKS times

    timer = QTimer(window)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    assert window.plugins.handle_chat_text("/slow")
    assert window.plugins.working and window.chat.busy and window.chat.stop_button.isEnabled()
    qtbot.waitUntil(lambda: "Working slowly…" in page_text(qtbot, window))
    qtbot.waitUntil(lambda: not window.plugins.working, timeout=30_000)
    timer.stop()
    assert ticks[:TICKS] == [True] * TICKS
    assert plugin.on_gui_thread is False
    qtbot.waitUntil(lambda: "slow work done" in page_text(qtbot, window))
    assert "Working slowly…" not in page_text(qtbot, window)  # the progress line is gone
    assert not window.chat.busy and window.chat.send_button.isEnabled()


def test_stop_cancels_background_work(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    with_gated(window)
    assert window.plugins.handle_chat_text("/slow")
    window.chat.stop_button.click()
    qtbot.waitUntil(lambda: not window.plugins.working, timeout=30_000)
    qtbot.waitUntil(lambda: "Stopped." in page_text(qtbot, window))
    assert "slow work" not in page_text(qtbot, window) and not window.chat.busy


def test_closing_the_window_cancels_background_work(make_window: MakeWindow) -> None:
    window = make_window()
    plugin = with_gated(window)
    assert window.plugins.handle_chat_text("/slow")
    window.close()
    assert not window.plugins.working and not plugin.release.is_set()


def test_commands_get_the_chats_conversation_id(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    plugin = with_gated(window)
    window.plugins.handle_chat_text("/where")
    first = window.chat.conversation_id
    assert first is not None
    qtbot.waitUntil(lambda: f"conversation {first}" in page_text(qtbot, window))
    window.chat.new_chat()
    window.plugins.handle_chat_text("/where")
    second = window.chat.conversation_id
    assert second is not None and second != first
    qtbot.waitUntil(lambda: f"conversation {second}" in page_text(qtbot, window))
    window.chat.open_conversation(first)
    window.plugins.handle_chat_text("/where")
    qtbot.waitUntil(lambda: f"conversation {first}" in page_text(qtbot, window))
    assert plugin.conversations == [first, second, first]


def test_settings_dialog_shows_and_saves_declared_options(
    make_window: MakeWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    window = make_window()
    with_gated(window)
    dialog = SettingsDialog(window.settings, window, plugin_pages=window.plugins.settings_pages())
    qtbot.addWidget(dialog)
    options = dialog.plugin_options
    assert set(options) == {"math", "gated"}
    tutor = options["math"]["tutor_mode"]
    assert isinstance(tutor, QCheckBox) and not tutor.isChecked()
    assert tutor.text() == "Tutor mode: hints one at a time, the answer only when asked"
    times, word = options["gated"]["times"], options["gated"]["word"]
    assert isinstance(times, QSpinBox) and times.value() == 2
    assert isinstance(word, QLineEdit) and word.text() == "done"
    dialog.resize(dialog.sizeHint())
    assert dialog.grab().save(str(tmp_path / "settings.png"))
    tutor.setChecked(True)
    times.setValue(5)
    word.setText("finished")
    window.apply_settings(dialog.result_settings())
    saved = load_settings(app_paths()).settings.plugins
    assert saved["math"] == {"tutor_mode": True} and saved["gated"] == {"loud": False, "times": 5, "word": "finished"}
    window.plugins.handle_chat_text("/tutor")
    qtbot.waitUntil(lambda: "Tutor mode is on" in page_text(qtbot, window))
    # /tutor changes the same setting the dialog shows.
    window.plugins.handle_chat_text("/tutor off")
    assert load_settings(app_paths()).settings.plugins["math"]["tutor_mode"] is False
    again = SettingsDialog(window.settings, window, plugin_pages=window.plugins.settings_pages())
    qtbot.addWidget(again)
    assert not again.plugin_options["math"]["tutor_mode"].isChecked()  # type: ignore[union-attr]


def test_the_old_tutor_flag_moves_into_the_settings(make_window: MakeWindow) -> None:
    store = app_paths().config_dir / "plugins.json"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps({"disabled": [], "sections": {"math": {"tutor_mode": True}}}))
    window = make_window()
    assert window.plugins.manager.context_for("math").option("tutor_mode") is True
    assert load_settings(app_paths()).settings.plugins["math"] == {"tutor_mode": True}
    assert json.loads(store.read_text())["sections"]["math"] == {}
