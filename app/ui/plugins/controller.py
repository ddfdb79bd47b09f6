"""Plugins in the window: slash commands in the chat, actions in the editor's menu,
panels at the bottom, and the review of proposed edits.

A command's result is carried out by the core's ``ResultRunner`` (the same
rules as ``quillpad chat``) on this window's surface: its message goes into
the chat, its model turn streams into the chat (and its answer goes to the
plugin's ``then``), its edit proposal opens the diff preview, and only
accepted hunks are applied, each file as one undo step. Its background work
runs through ``app.ui.tasks`` (never touching a widget; the result comes
back as plain data through a queued signal) while the chat shows its title; the
chat's Stop and closing the window cancel it.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QInputDialog,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from app.core.chat.commands import Applied, ResultRunner
from app.core.edits.commit import AppliedChange, apply_proposal
from app.core.edits.proposal import EditProposal
from app.core.engine.model_client import EngineModelClient
from app.core.engine.requests import RequestDefaults
from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.plugins.background import BackgroundWork, CancelToken
from app.core.plugins.context import PluginHost
from app.core.plugins.contributions import CommandResult, ModelTurn, PluginSetting
from app.core.plugins.manager import PluginManager
from app.core.plugins.options import OptionStore
from app.core.plugins.state import PluginStateStore
from app.ui.chat.chat_panel import ChatPanel
from app.ui.editor.code_editor import CodeEditor
from app.ui.editor.diff_dialog import DiffPreviewDialog
from app.ui.editor.document import QtEditor
from app.ui.editor.tabs import EditorTabs
from app.ui.models.engine_bridge import EngineBridge
from app.ui.refs.controller import RefsController
from app.ui.tasks import Task, TaskRunner, failure_text

log = logging.getLogger(__name__)


class GuiNotifier(QObject):
    """The plugin API's notifier: callable from any thread, shown on the GUI thread."""

    notified = Signal(str, str)  # message, level

    def notify(self, message: str, level: str = "info") -> None:
        self.notified.emit(message, level)


@dataclass(eq=False)
class _Continuation:
    """What the GUI thread needs once the work is done: where it began, what follows."""

    task: int  # the progress line in the chat
    conversation: int | None
    on_done: Callable[[CommandResult | BaseException], None]


class _WindowSurface:
    """How the window performs each step of a result (``ResultSurface``)."""

    def __init__(self, controller: PluginController) -> None:
        self.controller = controller

    def show(self, markdown: str) -> None:
        self.controller.chat.show_markdown(markdown)

    def stream_turn(self, turn: ModelTurn, on_answer: Callable[[str], None]) -> None:
        self.controller.chat.stream_turn(turn.messages, turn.options, on_answer)

    def run_background(
        self, work: BackgroundWork, token: CancelToken, on_done: Callable[[CommandResult | BaseException], None]
    ) -> None:
        self.controller.run_background(work, token, on_done)

    def review(self, proposal: EditProposal, on_applied: Applied | None) -> None:
        self.controller.review_and_apply(proposal, on_applied)


def _ask_text(parent: QWidget, label: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Quillpad", label)
    return text if ok else None


class PluginController(QObject):
    """Owns the plugin manager for the window."""

    notice = Signal(str)
    changesApplied = Signal(list)  # keys of the files changed

    def __init__(
        self,
        parent: QWidget,
        paths: AppPaths,
        bridge: EngineBridge,
        chat: ChatPanel,
        tabs: EditorTabs,
        add_panel: Callable[[QWidget, str], None],
        options: OptionStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = parent
        self.chat = chat
        self.tabs = tabs
        self.notifier = GuiNotifier(self)
        self.notifier.notified.connect(lambda message, _level: self.notice.emit(message))
        settings = chat.settings
        self.host = PluginHost(
            notifier=self.notifier,
            model=EngineModelClient(bridge.owner, lambda: RequestDefaults.from_settings(settings()), purpose="plugin"),
            editor=QtEditor(tabs),
        )
        if options is not None:
            self.host.options = options  # before discovery, so old plugins.json options migrate into it
        self.tasks = TaskRunner(self, threads=4)  # plugins' background work
        self.panel_tasks = TaskRunner(self, threads=2)  # panels' slow work (a test run)
        self.host.background = self._run_for_panel
        self._running: dict[Task[CommandResult], _Continuation] = {}
        self._closing = False
        self.host.results = self
        self.manager = PluginManager(self.host, PluginStateStore.for_app(paths))
        # Questions and the review dialog, replaceable in tests.
        self.review: Callable[[EditProposal, QWidget], dict[str, set[int]] | None] = self._review
        # Code referencing beside the safety scan in the review (set by the window).
        self.refs: RefsController | None = None
        self.confirm_matches: Callable[[], bool] = lambda: False
        self.ask_text: Callable[[QWidget, str], str | None] = _ask_text
        # Git: a checkpoint right before every AI edit (raising refuses the edit), a commit after it.
        self.before_apply: Callable[[EditProposal, dict[str, set[int]]], None] | None = None
        self.after_apply: Callable[[tuple[AppliedChange, ...]], None] | None = None
        self.manager.discover()
        for record in self.manager.records():
            if record.state == "failed" and record.error:
                self.notice.emit(f"The plugin {record.name} was turned off: {record.error}")
        self.runner = ResultRunner(_WindowSurface(self))
        chat.command_handler = self.handle_chat_text
        chat.set_plugins(self.manager)
        chat.input.set_completion_source("/", self.complete_command)
        tabs.menu_extender = self.extend_menu
        for entry in self.manager.panels():
            widget = self.manager.create_panel(entry.panel.id)
            if isinstance(widget, QWidget):
                add_panel(widget, entry.panel.title)

    # -- chat -------------------------------------------------------------------

    def complete_command(self, prefix: str) -> list[str]:
        return [c.name for c in self.manager.complete("/" + prefix)]

    def handle_chat_text(self, text: str) -> bool:
        """Run ``text`` if it is a slash command; False lets the chat send it to the model."""
        if not self.manager.is_command(text):
            return False
        self.chat.show_user_text(text)
        try:
            result = self.manager.dispatch(text, self.chat.conversation_id)
        except QuillpadError as err:
            self.chat.show_markdown(html.escape(str(err)))
            return True
        self.carry_out(result)
        return True

    def carry_out(self, result: CommandResult, on_applied: Applied | None = None) -> None:
        """Show, stream, review: what a command's result asks for (also the plugins' ``ResultSink``)."""
        self.runner.carry_out(result, on_applied)

    # -- background work --------------------------------------------------------

    def run_background(
        self, work: BackgroundWork, token: CancelToken, on_done: Callable[[CommandResult | BaseException], None]
    ) -> None:
        if self._closing:
            return
        handle: Task[CommandResult]
        line = self.chat.begin_task(work.title or "Working…", lambda: handle.cancel())
        then = _Continuation(line, self.chat.conversation_id, on_done)
        handle = self.tasks.submit(
            work.run,
            on_result=lambda result: self._finished(handle, result),
            on_error=lambda err: self._finished(handle, err),
            on_cancelled=lambda: self._cancelled(handle),
        )
        self._running[handle] = then

    def _cancelled(self, handle: Task[CommandResult]) -> None:
        then = self._running.pop(handle)
        self.chat.end_task(then.task)
        if self.chat.conversation_id == then.conversation:
            self.chat.show_markdown("Stopped.")

    def _finished(self, handle: Task[CommandResult], outcome: object) -> None:
        then = self._running.pop(handle)
        self.chat.end_task(then.task)
        if isinstance(outcome, CommandResult | BaseException):
            then.on_done(outcome)

    def _run_for_panel(
        self, work: Callable[[CancelToken], Any], on_result: Callable[[Any], None], on_error: Callable[[str], None]
    ) -> CancelToken:
        task = self.panel_tasks.submit(
            work, on_result=on_result, on_error=lambda err: on_error(failure_text(err, "The plugin's work"))
        )
        return task.token

    @property
    def working(self) -> bool:
        """Whether background work is running."""
        return self.tasks.busy

    def shutdown(self) -> None:
        """Cancel background work and wait for it (the window is closing); idempotent."""
        self._closing = True
        self.panel_tasks.shutdown(30_000)
        self.tasks.shutdown(30_000)  # cancels, waits; their results, still queued, are dropped
        for then in self._running.values():
            self.chat.end_task(then.task)
        self._running.clear()

    def _review(self, proposal: EditProposal, parent: QWidget) -> dict[str, set[int]] | None:
        dialog = DiffPreviewDialog(proposal, parent, refs=self.refs, confirm_matches=self.confirm_matches())
        return dialog.accepted_hunks() if dialog.exec() else None

    def review_and_apply(self, proposal: EditProposal, on_applied: Applied | None) -> None:
        """Show the diff preview; apply the accepted hunks (a checkpoint first, a commit after if set)."""
        accepted = self.review(proposal, self.window)
        if not accepted or not any(accepted.values()):
            self.chat.show_markdown("The proposed changes were not applied.")
            return
        try:
            if self.before_apply is not None:
                self.before_apply(proposal, accepted)
            applied = apply_proposal(proposal, accepted, self.host.editor)
        except QuillpadError as err:
            self.chat.show_markdown(html.escape(str(err)))
            return
        keys = [change.key for change in applied]
        self.chat.show_markdown("Applied changes to " + ", ".join(f"`{key}`" for key in keys) + ".")
        self.changesApplied.emit(keys)
        if self.after_apply is not None:
            self.after_apply(applied)
        if on_applied is not None:
            on_applied(keys)

    # -- editor ---------------------------------------------------------------

    def extend_menu(self, menu: QMenu, editor: CodeEditor) -> None:
        """Add the plugins' editor actions to a context menu."""
        actions = self.manager.editor_actions()
        if not actions:
            return
        menu.addSeparator()
        has_selection = editor.textCursor().hasSelection()
        for entry in actions:
            action = menu.addAction(entry.action.label)
            action.setEnabled(has_selection or not entry.action.needs_selection)
            action.triggered.connect(lambda _checked=False, e=entry: self.run_action(e.action.id))

    def run_action(self, action_id: str) -> None:
        """Run an editor action, asking for its input first if it needs some."""
        entry = next((a for a in self.manager.editor_actions() if a.action.id == action_id), None)
        if entry is None:
            return
        args = ""
        if entry.action.input_prompt:
            typed = self.ask_text(self.window, entry.action.input_prompt)
            if typed is None:
                return
            args = typed
        self.chat.show_user_text(f"{entry.action.label}{': ' + args if args else ''}")
        try:
            result = self.manager.run_action(action_id, args, self.chat.conversation_id)
        except QuillpadError as err:
            self.chat.show_markdown(html.escape(str(err)))
            return
        self.carry_out(result)

    # -- settings ---------------------------------------------------------------

    def settings_pages(self) -> list[tuple[str, str, tuple[PluginSetting, ...]]]:
        """(id, name, declared options) of each plugin with options, for Settings ▸ Plugins."""
        return [(record.id, record.name, declared) for record, declared in self.manager.settings_pages()]

    def show_dialog(self) -> None:
        """Turn plugins on and off."""
        dialog = QDialog(self.window)
        dialog.setWindowTitle("Plugins")
        layout = QVBoxLayout(dialog)
        boxes: dict[str, QCheckBox] = {}
        for record in self.manager.records():
            version = f" {record.info.version}" if record.info else ""
            box = QCheckBox(f"{record.name}{version} — {record.state}")
            box.setChecked(record.state == "enabled")
            box.setToolTip(record.source)
            layout.addWidget(box)
            description = record.info.description if record.info else record.summary
            if record.error:
                description = f"{description} Error: {record.error}".strip()
            if description:
                label = QLabel(html.escape(description))
                label.setWordWrap(True)
                layout.addWidget(label)
            boxes[record.id] = box
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        layout.addWidget(buttons)
        if dialog.exec():
            self.apply_choices({key: box.isChecked() for key, box in boxes.items()})

    def apply_choices(self, enabled: dict[str, bool]) -> None:
        for plugin_id, on in enabled.items():
            try:
                self.manager.set_enabled(plugin_id, on)
            except QuillpadError as err:
                self.notice.emit(str(err))
