"""The chat panel: conversation view, input, context chips and history, over a ``ChatSession``.

The flow of a message (compose, store, build the request, plugin prompts and
context, stream, stop, regenerate, edit last) is the core's
``app.core.chat.ChatSession``; this widget wires it to the input box, the
view and the engine bridge, which runs the reply on the engine thread.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.agent.permissions import ApprovalRequest
from app.core.agent.run import AgentEnded, AgentMode, ToolStep
from app.core.chat import ChatSession, Finished, Reply
from app.core.chat.project_context import ProjectContextSource, project_attachments
from app.core.chat.session import TOOL_CALL_KIND
from app.core.chat_render import CodeBlock
from app.core.conversations import Attachment, ConversationStore, StoredMessage
from app.core.edits.proposal import EditProposal
from app.core.edits.safety import scan_python
from app.core.engine import AnswerText, ChatMessage, Done, EngineError, EngineEvent, Notice, Stats, ThinkingText
from app.core.engine.model_client import AskOptions
from app.core.errors import QuillpadError
from app.core.plugins.manager import PluginManager
from app.core.project import AssembledContext
from app.core.refs import RefMatch
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.runner import run_python
from app.core.settings import Settings
from app.core.toolcalls.parser import ToolCall, split_answer
from app.ui.chat.agent_job import AgentJob
from app.ui.chat.approval_bar import ApprovalBar
from app.ui.chat.chat_input import ChatInput, ContextChips, ContextItem
from app.ui.chat.chat_view import ChatView
from app.ui.chat.history_page import HistoryPage
from app.ui.chat.sandbox_output import result_markdown
from app.ui.models.engine_bridge import EngineBridge
from app.ui.refs.controller import RefsController
from app.ui.tasks import Task, TaskRunner, failure_text
from app.ui.theme.scale import Space, set_margins

_notice_ids = iter(range(-1, -(2**31), -1))  # notices live only in the view

# The project context for a message: called on the GUI thread with the text, it
# reads what it needs from the window (current file, selection) and returns the
# retrieval itself, which runs off the GUI thread.
ContextSource = Callable[[str], Callable[[], AssembledContext | None]]


def _confirm_risky_run(parent: QWidget, findings: list[str]) -> bool:
    text = "The safety scan found risky calls in this code:\n\n" + "\n".join(f"• {f}" for f in findings)
    answer = QMessageBox.question(parent, "Run risky code?", text + "\n\nRun it in the sandbox anyway?")
    return answer == QMessageBox.StandardButton.Yes


def _confirm_limits_only(parent: QWidget, notice: str) -> bool:
    answer = QMessageBox.question(
        parent, "Run without isolation?", notice + "\n\nRun this code with limits only (for this session)?"
    )
    return answer == QMessageBox.StandardButton.Yes


def _reply_note(message: StoredMessage) -> str:
    if message.complete:
        return ""
    reason = (message.stats or {}).get("stopped")
    return "Stopped." if reason else "Incomplete: the app closed while this reply was being written."


class ChatPanel(QWidget):
    """Everything right of the editor. Talks to the engine only via the bridge."""

    statsChanged = Signal(object)  # Stats
    notice = Signal(str)
    engineCrashed = Signal(str)
    codeAction = Signal(str, object)  # "insert" | "newfile", CodeBlock
    busyChanged = Signal(bool)
    attachFileRequested = Signal()
    codeRan = Signal(str)  # what a sandbox run showed, as Markdown
    contextPreviewed = Signal()  # the chips now show the project context for the typed text

    def __init__(
        self,
        bridge: EngineBridge,
        store: ConversationStore,
        settings: Callable[[], Settings],
        parent: QWidget | None = None,
        dark: bool = False,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.store = store
        self.settings = settings
        self.session = ChatSession(store, bridge.owner, settings)
        self.model_ready = False
        # Background work plugins are doing for this chat: its progress line's id -> how to cancel it.
        self._tasks: dict[int, Callable[[], None]] = {}
        # Asked before running code the safety scan flags; replaceable in tests.
        self.confirm_risky_run: Callable[[QWidget, list[str]], bool] = _confirm_risky_run
        self.confirm_limits_only: Callable[[QWidget, str], bool] = _confirm_limits_only
        self._limits_only_agreed = False  # asked once: where the system cannot isolate code
        # Gets the text first; True means it was a command and is handled.
        self.command_handler: Callable[[str], bool] | None = None
        # The project context for a message (None without a project), and what
        # to do once a message went out; set by the window.
        # Code referencing under the code blocks of finished replies (set by the window).
        self.refs: RefsController | None = None
        self._preview: tuple[str, AssembledContext | None] | None = None
        self._removed: set[str] = set()  # retrieval items the user took off this message
        # Seconds spent handling reply batches on the GUI thread (benchmarks).
        self.render_seconds = 0.0
        self.sandbox_tasks = TaskRunner(self, threads=2)
        # One thread: a newer preview cancels the older, queued or running.
        self.preview_tasks = TaskRunner(self)
        self.agent_tasks = TaskRunner(self, threads=1)  # one agent run at a time
        self._preview_task: Task[AssembledContext | None] | None = None

        self.view = ChatView(self, dark=dark)
        self.view.codeAction.connect(self._on_code_action)
        self.view.replyCodeBlocks.connect(self._check_code_blocks)
        self.chips = ContextChips(self)
        self.input = ChatInput(self)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(400)
        self._preview_timer.timeout.connect(self.refresh_context_preview)
        self.input.textChanged.connect(self._preview_timer.start)
        self.chips.itemRemoved.connect(self._on_chip_removed)
        self.input.sendRequested.connect(self.send)
        self.input.stopRequested.connect(self.stop)
        self.input.editLastRequested.connect(self.edit_last)
        self.thinking = QCheckBox("Think", self)
        self.thinking.setToolTip("Let the model think step by step before answering (slower, often better)")
        self.thinking.setChecked(settings().engine.thinking)
        self.session.thinking = self.thinking.isChecked()  # the box, not the saved default, decides each reply
        self.thinking.toggled.connect(self._on_thinking_toggled)
        self.agent_box = QCheckBox("Agent", self)
        self.agent_box.setToolTip(
            "Agent mode: the model may use tools (project files, search, git, tests, sandbox, edits, MCP servers). "
            "Read-only steps run at once; acting ones wait for your Allow."
        )
        # Builds the agent mode for a job (the window sets it: plugins, MCP servers, project, settings).
        self.agent_setup: Callable[[AgentJob], AgentMode] | None = None
        # Reviews an edit the model proposed (the window's diff review); (accepted, what to tell the model).
        self.review_proposal: Callable[[EditProposal], tuple[bool, str]] | None = None
        self.agent_job: AgentJob | None = None
        self.tool_steps: dict[str, ToolStep] = {}  # the last run's steps, by call id (plain data for tests)
        self._step_ids: dict[str, int] = {}  # call id -> the view's message showing it
        self._agent_message: int | None = None  # the assistant message streaming in the run
        self.approval = ApprovalBar(self)
        self.approval.decided.connect(self._on_decided)
        self._wants_thinking = self.thinking.isChecked()  # restored when a model with a switch loads
        self.send_button = QPushButton("Send", self)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.clicked.connect(self.stop)
        self.regenerate_button = QPushButton("Regenerate", self)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.new_button = QPushButton("New chat", self)
        self.new_button.clicked.connect(self.new_chat)
        self.history_button = QPushButton("History", self)
        self.history_button.clicked.connect(self.show_history)
        self.attach_button = QPushButton("Attach file", self)
        self.attach_button.setToolTip("Send the file open in the editor with your next message")
        self.attach_button.clicked.connect(self.attachFileRequested)

        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addWidget(self.history_button)
        top.addStretch(1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.thinking)
        buttons.addWidget(self.agent_box)
        buttons.addWidget(self.attach_button)
        buttons.addStretch(1)
        buttons.addWidget(self.regenerate_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.send_button)

        chat_page = QWidget(self)
        chat_layout = QVBoxLayout(chat_page)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addLayout(top)
        chat_layout.addWidget(self.view, 1)
        chat_layout.addWidget(self.approval)
        chat_layout.addWidget(self.chips)
        chat_layout.addWidget(self.input)
        chat_layout.addLayout(buttons)

        self.pages = QStackedWidget(self)
        self.history = HistoryPage(store, self)
        self.history.openRequested.connect(self.open_conversation)
        self.history.closeRequested.connect(lambda: self.pages.setCurrentIndex(0))
        self.history.notice.connect(self.notice)
        self.history.deleted.connect(self._on_deleted)

        self.pages.addWidget(chat_page)
        self.pages.addWidget(self.history)
        layout = QVBoxLayout(self)
        set_margins(layout, Space.S)
        layout.addWidget(self.pages)

        bridge.replyEvents.connect(self._on_events)
        bridge.replyEnded.connect(self._on_ended)
        self._update_buttons()

    # -- state ----------------------------------------------------------------

    @property
    def conversation_id(self) -> int | None:
        """The conversation shown (None before the first message of a new chat)."""
        return self.session.conversation_id

    @property
    def context_source(self) -> Callable[[str], AssembledContext | None] | None:
        """The project context for a message (None without a project); set by the window."""
        return self.session.project_context

    @context_source.setter
    def context_source(self, source: Callable[[str], AssembledContext | None] | None) -> None:
        self.session.project_context = source

    @property
    def on_message_sent(self) -> Callable[[], None] | None:
        return self.session.on_message_sent

    @on_message_sent.setter
    def on_message_sent(self, callback: Callable[[], None] | None) -> None:
        self.session.on_message_sent = callback

    @property
    def request_overrides(self) -> dict[str, object]:
        """Extra ChatRequest fields for every reply (benchmarks: a fixed length)."""
        return self.session.overrides

    @request_overrides.setter
    def request_overrides(self, overrides: dict[str, object]) -> None:
        self.session.overrides = dict(overrides)

    def _on_thinking_toggled(self, on: bool) -> None:
        self.session.thinking = on

    def set_plugins(self, plugins: PluginManager) -> None:
        """Plugins whose system prompts and context providers go with every message."""
        self.session.plugins = plugins

    @property
    def _reply(self) -> Reply | None:
        return self.session.reply

    @property
    def agent_running(self) -> bool:
        return self.agent_job is not None

    @property
    def busy(self) -> bool:
        return self.session.busy or bool(self._tasks) or self.agent_job is not None

    def set_thinking_available(self, available: bool) -> None:
        """Grey out Think for a model whose chat template has no thinking switch (ticked, it did nothing)."""
        self.thinking.setEnabled(available)
        if available:
            self.thinking.setChecked(self._wants_thinking)
            self.thinking.setToolTip("Let the model think step by step before answering (slower, often better)")
        else:
            self._wants_thinking = self.thinking.isChecked() or self._wants_thinking
            self.thinking.setChecked(False)
            self.thinking.setToolTip("This model's chat template has no thinking switch")

    def set_model_ready(self, ready: bool) -> None:
        self.model_ready = ready
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.send_button.setEnabled(not self.busy)
        self.stop_button.setEnabled(self.busy)
        self.regenerate_button.setEnabled(not self.busy and self.model_ready and self.conversation_id is not None)

    # -- conversations -----------------------------------------------------

    def new_chat(self) -> None:
        """Start an empty conversation (the old one stays in the history)."""
        if self.busy:
            self.stop()
        self.session.new()
        self.view.clear()
        self._update_buttons()

    def show_history(self) -> None:
        self.history.refresh()
        self.pages.setCurrentIndex(1)

    def open_conversation(self, conversation_id: int) -> None:
        """Show a stored conversation (each user message with the chips it was sent with) and continue it."""
        if self.busy:
            self.stop()
        try:
            messages = self.session.open(conversation_id)
        except QuillpadError as err:
            self.notice.emit(str(err))
            return
        self.view.clear()
        calls: list[ToolCall] = []  # an agent turn's calls, answered in order by the tool messages after it
        for message in messages:
            if message.role == "user":
                self.view.add_user_message(message.id, message.content, message.attachments)
            elif message.role == "assistant":
                pieces = split_answer(message.content)
                calls = [piece for piece in pieces if isinstance(piece, ToolCall)]
                text = "".join(piece for piece in pieces if isinstance(piece, str)).strip()
                if text or message.thinking or not calls:
                    self.view.add_assistant_message(message.id, text, message.thinking, _reply_note(message))
            elif message.role == "tool":
                name = next((a.label for a in message.attachments if a.kind == TOOL_CALL_KIND), "tool")
                call = calls.pop(0) if calls and calls[0].name == name else ToolCall("", name, {})
                step = ToolStep(call, name, False, "done", message.content, len(message.content))
                self.view.add_tool_step(message.id, step.summary(), call.arguments, message.content, "done")
        self.pages.setCurrentIndex(0)
        self._update_buttons()

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.session.new()
            self.view.clear()
            self._update_buttons()

    # -- sending -------------------------------------------------------------

    def attach(self, item: ContextItem) -> None:
        """Add context (a file or a selection) to the next message."""
        self.chips.add(item)

    def ask(self, text: str, item: ContextItem | None = None) -> None:
        """Put ``text`` (and context) in the box and send it."""
        if item is not None:
            self.attach(item)
        self.input.setPlainText(text)
        self.send()

    def _project_context(self, text: str) -> AssembledContext | None:
        if self._preview is not None and self._preview[0] == text:
            return self._preview[1]
        return self.session.project_preview(text)

    def refresh_context_preview(self) -> None:
        """Show as chips what the project would attach to the message typed so far.

        The retrieval runs off the GUI thread; the chips change when it lands
        (``contextPreviewed``), unless the text changed meanwhile.
        """
        text = self.input.toPlainText().strip()
        if self._preview_task is not None:
            self._preview_task.cancel()
            self._preview_task = None
        source = self.session.project_context
        if source is None or not text or text.startswith("/"):
            self.chips.set_project_items([])
            return
        # The editor is read now (GUI thread); the retrieval runs on the preview thread.
        retrieve = source.prepare(text) if isinstance(source, ProjectContextSource) else (lambda: source(text))
        self._preview_task = self.preview_tasks.submit(
            lambda token: retrieve(),
            on_result=lambda assembled: self._show_preview(text, assembled),
            on_error=lambda err: self._show_notice(failure_text(err, "Finding the project context")),
        )

    def _show_preview(self, text: str, assembled: AssembledContext | None) -> None:
        self._preview_task = None
        if self.input.toPlainText().strip() != text:
            return  # typed on meanwhile: the next pause brings a newer preview
        self._preview = (text, assembled)
        self.chips.set_project_items(
            [item for item in project_attachments(assembled, self._removed) if item.kind != "project"]
        )
        self.contextPreviewed.emit()

    def _on_chip_removed(self, item: ContextItem) -> None:
        if item.from_project:
            self._removed.add(item.label)

    def send(self) -> None:
        """Send the input box's text as the next user message."""
        text = self.input.toPlainText().strip()
        if not text or self.busy:
            return
        if self.command_handler is not None and self.command_handler(text):
            self.input.clear()
            return
        if not self.model_ready:
            self._show_notice("No model is loaded yet: open a GGUF model first (your message is kept in the box).")
            return
        manual = [item for item in self.chips.items() if not item.from_project]
        project = project_attachments(self._project_context(text), self._removed)
        if self.agent_box.isChecked():
            self._send_agent(text, (*manual, *project))
            return
        dropped = self.session.deleted_on_edit()
        try:
            reply = self.session.send(text, (*manual, *project))
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        for message_id in dropped:
            self.view.remove_message(message_id)
        self.input.clear()
        self.chips.clear()
        self._preview = None
        self._removed.clear()
        user = next(m for m in reversed(self.session.messages()) if m.role == "user")
        self.view.add_user_message(user.id, user.content, user.attachments)
        self._start(reply)

    def show_user_text(self, text: str) -> None:
        """Show (and keep) a user line that is not a message for the model, e.g. a command."""
        try:
            message_id = self.session.show_user_text(text)
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        self.view.add_user_message(message_id, text)

    def show_markdown(self, markdown: str) -> None:
        """Show Markdown from the app or a plugin (a command's reply)."""
        self.view.add_output(next(_notice_ids), markdown)

    def stream_turn(
        self, messages: tuple[ChatMessage, ...], options: AskOptions, on_answer: Callable[[str], None]
    ) -> None:
        """Stream a plugin's model turn into the chat; ``on_answer`` gets the answer."""
        if self.session.busy:
            self._show_notice("A reply is still being written; wait for it or stop it first.")
            return
        if not self.model_ready:
            self._show_notice("No model is loaded yet: open a GGUF model first.")
            return
        try:
            reply = self.session.start_reply(messages, options, on_answer)
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        self._start(reply)

    def _start(self, reply: Reply) -> None:
        self.view.start_reply(reply.message_id)
        self.bridge.send(reply.request, reply.request_id)
        self._update_buttons()
        self.busyChanged.emit(True)

    def stop(self) -> None:
        """Stop the reply being written (only it), or the background work under way."""
        if self.agent_job is not None:
            self.agent_job.stop()
        elif self._tasks:
            for cancel in list(self._tasks.values()):
                cancel()
        else:
            self.session.stop()

    # -- background work ------------------------------------------------------

    def begin_task(self, title: str, cancel: Callable[[], None]) -> int:
        """Show ``title`` as a progress line (e.g. "Checking 7 steps…"); Stop calls ``cancel``. Returns its id."""
        task_id = next(_notice_ids)
        self.view.add_notice(task_id, title)
        self._tasks[task_id] = cancel
        self._update_buttons()
        self.busyChanged.emit(True)
        return task_id

    def end_task(self, task_id: int) -> None:
        """Take the progress line away once the work has finished (or stopped)."""
        self.view.remove_message(task_id)
        if self._tasks.pop(task_id, None) is not None and not self.busy:
            self._update_buttons()
            self.busyChanged.emit(False)

    def regenerate(self) -> None:
        """Answer the last user message again (a new seed unless one is fixed)."""
        if self.busy or not self.model_ready:
            return
        last = self.session.messages()[-1:]
        try:
            reply = self.session.regenerate()
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        if reply is None:
            return
        if last and last[0].role == "assistant":
            self.view.remove_message(last[0].id)
        self._start(reply)

    def edit_last(self) -> None:
        """Put the last user message back in the box, its chips too; sending replaces it."""
        if self.busy:
            return
        last = self.session.edit_last()
        if last is None:
            return
        text, attachments = last
        self.input.setPlainText(text)
        for item in attachments:
            if not item.from_project:
                self.chips.add(item)

    # -- streaming -------------------------------------------------------------

    def _on_events(self, request_id: int, events: list[EngineEvent]) -> None:
        started = time.perf_counter()
        try:
            reply = self.session.reply
            if reply is None or reply.request_id != request_id:
                return
            try:
                update = self.session.feed(reply, events)
            except QuillpadError as err:
                self.notice.emit(str(err))
                return
            # One view update per batch and channel, not per token.
            if update.thinking:
                self.view.append_thinking(reply.message_id, update.thinking)
            if update.answer:
                self.view.append_answer(reply.message_id, update.answer)
            for text in update.notices:
                self._show_notice(text)
        finally:
            self.render_seconds += time.perf_counter() - started

    def _on_ended(self, request_id: int, final: Done | EngineError) -> None:
        reply = self.session.reply
        if reply is None or reply.request_id != request_id:
            return
        try:
            finished = self.session.finish(reply, final)
        except QuillpadError as err:
            self.notice.emit(str(err))
            finished = Finished(reply.message_id, "", "error", reply.stats)
        self.view.finish_reply(finished.message_id, finished.note, finished.state)
        if finished.crashed is not None:
            self.engineCrashed.emit(finished.crashed)
        if finished.stats is not None:
            self.statsChanged.emit(finished.stats)
        self._update_buttons()
        self.busyChanged.emit(False)
        if finished.follow_up is not None:
            # Later, from the event loop: the follow-up may stream another reply.
            QTimer.singleShot(0, finished.follow_up)

    def _show_notice(self, text: str) -> None:
        self.view.add_notice(next(_notice_ids), text)
        self.notice.emit(text)

    def _on_code_action(self, action: str, block: CodeBlock) -> None:
        if action == "copy":
            QGuiApplication.clipboard().setText(block.code)
            self.notice.emit("Code copied to the clipboard.")
        elif action == "run":
            self.run_code(block.code)
        else:
            self.codeAction.emit(action, block)

    def run_code(self, code: str) -> None:
        """Run Python from the chat in the sandbox (only ever on the user's click).

        The safety scan comes first: risky calls are listed and the user
        decides; the sandbox limits the damage either way.
        """
        report = scan_python(code)
        if report.risky:
            lines = [f"line {f.line}: {f.description}" for f in report.findings]
            if not report.scanned and report.reason:
                lines.append(report.reason)
            if not self.confirm_risky_run(self, lines):
                self.show_markdown("Not run: the code was left as it is.")
                return
        self._start_run(code)

    def _start_run(self, code: str) -> None:
        self.notice.emit("Running the code in the sandbox…")
        allow = self._limits_only_agreed
        self.sandbox_tasks.submit(
            lambda token: result_markdown(run_python(code, allow_unisolated=allow)),
            on_result=self._on_ran,
            on_error=lambda err: self._on_run_failed(code, err),
        )

    def _check_code_blocks(self, message_id: int, blocks: list[CodeBlock]) -> None:
        """Look for each block's code in the code-reference index; matches are shown under the block."""
        if self.refs is None:
            return
        for block in blocks:
            annotate = functools.partial(self._annotate_block, block.index)
            self.refs.check(block.code, annotate, language=block.language or None)

    def _annotate_block(self, index: int, matches: list[RefMatch]) -> None:
        self.view.annotate_code(index, matches)

    def _on_run_failed(self, code: str, err: BaseException) -> None:
        if not isinstance(err, IsolationUnavailable):
            self._on_ran(failure_text(err, "The sandbox"))
            return
        # This system cannot isolate code (nothing ran): say so once, run with limits only if the user agrees.
        notice = err.support.notice
        if self.confirm_limits_only(self, notice):
            self._limits_only_agreed = True
            self._start_run(code)
        else:
            self._on_ran(f"Not run: {notice}")

    def _on_ran(self, markdown: str) -> None:
        self.view.add_output(next(_notice_ids), markdown)
        self.codeRan.emit(markdown)

    # -- agent mode ------------------------------------------------------------

    def _send_agent(self, text: str, attachments: Sequence[Attachment]) -> None:
        """Send ``text`` in agent mode: the run goes on a pool thread, its steps come back as signals."""
        if self.agent_setup is None:
            self._show_notice("Agent mode is not available in this window.")
            return
        self.tool_steps.clear()
        job = AgentJob(self.session, text, attachments)
        job.start_with(self.agent_setup(job))
        job.signals.events.connect(self._on_agent_events)
        job.signals.step.connect(self._on_step)
        job.signals.question.connect(self._on_question)
        job.signals.review.connect(self._on_review)
        job.signals.ended.connect(self._on_agent_ended)
        self.agent_job = job
        self.input.clear()
        self.chips.clear()
        self._preview = None
        self._removed.clear()
        self.view.add_user_message(next(_notice_ids), text, attachments)
        self._update_buttons()
        self.busyChanged.emit(True)
        # The job reports through its own queued signals; errors it cannot report are logged.
        self.agent_tasks.submit(lambda _token: job.run())

    def _finish_agent_message(self) -> None:
        if self._agent_message is not None:
            self.view.finish_reply(self._agent_message)
            self._agent_message = None

    def _on_agent_events(self, message_id: int, events: list[EngineEvent]) -> None:
        if message_id != self._agent_message:
            self._finish_agent_message()
            self._agent_message = message_id
        for event in events:
            if isinstance(event, ThinkingText):
                self.view.append_thinking(message_id, event.text)
            elif isinstance(event, AnswerText):
                self.view.append_answer(message_id, event.text)
            elif isinstance(event, Notice):
                self._show_notice(event.message)
            elif isinstance(event, Stats):
                self.statsChanged.emit(event)

    def _on_step(self, step: ToolStep) -> None:
        """Show a step folded: its line says tool, arguments and result size; the result is inside."""
        self._finish_agent_message()
        key = step.call.id  # unique within a run (call_TURN_N)
        self.tool_steps[key] = step
        old = self._step_ids.get(key)
        if old is not None:
            self.view.remove_message(old)
        message_id = next(_notice_ids)
        self._step_ids[key] = message_id
        self.view.add_tool_step(message_id, step.summary(), step.call.arguments, step.result, step.state)

    def _on_question(self, request: ApprovalRequest) -> None:
        self.approval.ask(request)

    def _on_decided(self, decision: str) -> None:
        if self.agent_job is not None:
            self.agent_job.answer(decision)  # type: ignore[arg-type]  # one of the bar's three

    def _on_review(self, proposal: EditProposal) -> None:
        job = self.agent_job
        if job is None:
            return
        if self.review_proposal is None:
            job.reviewed(False, "This window cannot review edits; nothing was written.")
            return
        accepted, note = self.review_proposal(proposal)
        job.reviewed(accepted, note)

    def _on_agent_ended(self, ended: AgentEnded) -> None:
        self._finish_agent_message()
        self._step_ids.clear()
        self.approval.hide()
        if ended.message:
            self._show_notice(ended.message)
        self.agent_job = None
        self._update_buttons()
        self.busyChanged.emit(False)

    def shutdown(self) -> None:
        """Save a streaming reply as it stands (the app is closing)."""
        if self.agent_job is not None:
            self.agent_job.stop()
        try:
            self.session.save_partial()
        except QuillpadError as err:
            self.notice.emit(str(err))
        self.preview_tasks.shutdown()
        self.agent_tasks.shutdown(60_000)
        self.sandbox_tasks.shutdown(60_000)
