"""The chat panel: conversation view, input, context chips, history, and the
flow of one reply from the input box through the engine into the view and the
conversation store.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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

from app.core.chat_render import CodeBlock
from app.core.conversations import ConversationStore, StoredMessage
from app.core.edits.safety import scan_python
from app.core.engine import (
    AnswerText,
    ChatMessage,
    ChatRequest,
    Done,
    EngineError,
    EngineEvent,
    Notice,
    SamplingOverrides,
    Stats,
    ThinkingText,
)
from app.core.errors import QuillpadError
from app.core.project import AssembledContext
from app.core.refs import RefMatch
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.runner import run_python
from app.core.settings import Settings
from app.ui.chat.chat_input import ChatInput, ContextChips, ContextItem
from app.ui.chat.chat_view import ATTACHMENT_MARKER, ChatView
from app.ui.chat.history_page import HistoryPage
from app.ui.chat.sandbox_output import result_markdown
from app.ui.models.engine_bridge import EngineBridge
from app.ui.refs.controller import RefsController
from app.ui.tasks import Task, TaskRunner, failure_text

PERSIST_SECONDS = 1.0  # how often a streaming reply is saved (a killed app keeps it)
TITLE_LENGTH = 60
_notice_ids = iter(range(-1, -(2**31), -1))  # notices live only in the view

# The project context for a message: called on the GUI thread with the text, it
# reads what it needs from the window (current file, selection) and returns the
# retrieval itself, which runs off the GUI thread.
ContextSource = Callable[[str], Callable[[], AssembledContext | None]]


@dataclass
class _Reply:
    """The reply being streamed."""

    request_id: int
    message_id: int
    answer: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    stats: Stats | None = None
    notices: list[str] = field(default_factory=list)
    last_saved: float = 0.0
    on_answer: Callable[[str], None] | None = None  # a plugin's follow-up


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
        self.model_ready = False
        self.conversation_id: int | None = None
        self._reply: _Reply | None = None
        # Background work plugins are doing for this chat: its progress line's id -> how to cancel it.
        self._tasks: dict[int, Callable[[], None]] = {}
        self._editing_last = False
        # Extra ChatRequest fields for every reply (benchmarks: fixed length).
        self.request_overrides: dict[str, object] = {}
        # Asked before running code the safety scan flags; replaceable in tests.
        self.confirm_risky_run: Callable[[QWidget, list[str]], bool] = _confirm_risky_run
        self.confirm_limits_only: Callable[[QWidget, str], bool] = _confirm_limits_only
        self._limits_only_agreed = False  # asked once: where the system cannot isolate code
        # Gets the text first; True means it was a command and is handled.
        self.command_handler: Callable[[str], bool] | None = None
        # The project context for a message (None without a project), and what
        # to do once a message went out; set by the window.
        self.context_source: ContextSource | None = None
        self.on_message_sent: Callable[[], None] | None = None
        # Code referencing under the code blocks of finished replies (set by the window).
        self.refs: RefsController | None = None
        self._preview: tuple[str, AssembledContext | None] | None = None
        self._removed: set[str] = set()  # retrieval items the user took off this message
        # Seconds spent handling reply batches on the GUI thread (benchmarks).
        self.render_seconds = 0.0
        self.sandbox_tasks = TaskRunner(self, threads=2)
        # One thread: a newer preview cancels the older, queued or running.
        self.preview_tasks = TaskRunner(self)
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
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.pages)

        bridge.replyEvents.connect(self._on_events)
        bridge.replyEnded.connect(self._on_ended)
        self._update_buttons()

    # -- state ----------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._reply is not None or bool(self._tasks)

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

    def _messages(self) -> list[StoredMessage]:
        if self.conversation_id is None:
            return []
        return self.store.messages(self.conversation_id)

    # -- conversations -----------------------------------------------------

    def new_chat(self) -> None:
        """Start an empty conversation (the old one stays in the history)."""
        if self.busy:
            self.stop()
        self.conversation_id = None
        self.view.clear()
        self._update_buttons()

    def show_history(self) -> None:
        self.history.refresh()
        self.pages.setCurrentIndex(1)

    def open_conversation(self, conversation_id: int) -> None:
        """Show a stored conversation and continue it."""
        if self.busy:
            self.stop()
        try:
            messages = self.store.messages(conversation_id)
        except QuillpadError as err:
            self.notice.emit(str(err))
            return
        self.conversation_id = conversation_id
        self.view.clear()
        for message in messages:
            if message.role == "user":
                self.view.add_user_message(message.id, message.content)
            elif message.role == "assistant":
                self.view.add_assistant_message(message.id, message.content, message.thinking, _reply_note(message))
        self.pages.setCurrentIndex(0)
        self._update_buttons()

    def _on_deleted(self, conversation_id: int) -> None:
        if conversation_id == self.conversation_id:
            self.conversation_id = None
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

    def _assembled(self, text: str) -> AssembledContext | None:
        if self.context_source is None or text.startswith("/"):
            return None
        if self._preview is not None and self._preview[0] == text:
            assembled = self._preview[1]
        else:  # sent before the preview for this text landed: retrieved now, once
            assembled = self.context_source(text)()
        for label in self._removed:
            assembled = assembled.without(label) if assembled is not None else None
        return assembled

    def refresh_context_preview(self) -> None:
        """Show as chips what the project would attach to the message typed so far.

        The retrieval runs off the GUI thread; the chips change when it lands
        (``contextPreviewed``), unless the text changed meanwhile.
        """
        text = self.input.toPlainText().strip()
        if self._preview_task is not None:
            self._preview_task.cancel()
            self._preview_task = None
        if self.context_source is None or not text or text.startswith("/"):
            self.chips.set_project_items([])
            return
        retrieve = self.context_source(text)
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
        items = [
            ContextItem(item.kind, item.label, item.text, rendered=item.render(), from_project=True, why=item.why)
            for item in (assembled.items if assembled is not None else [])
            if item.label not in self._removed
        ]
        self.chips.set_project_items(items)
        self.contextPreviewed.emit()

    def _on_chip_removed(self, item: ContextItem) -> None:
        if item.from_project:
            self._removed.add(item.label)

    def _compose(self, text: str) -> str:
        manual = [item for item in self.chips.items() if not item.from_project]
        parts = [item.as_markdown() for item in manual]
        assembled = self._assembled(text)
        if assembled is not None and assembled.items:
            parts.append(assembled.render())
        if not parts:
            return text
        return text + ATTACHMENT_MARKER + "\n\n".join(parts)

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
        try:
            if self._editing_last:
                self._drop_last_exchange()
            conversation_id = self._ensure_conversation(text)
            content = self._compose(text)
            user_id = self.store.add_message(conversation_id, "user", content)
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        self._editing_last = False
        self.input.clear()
        self.chips.clear()
        self._preview = None
        self._removed.clear()
        if self.on_message_sent is not None:
            self.on_message_sent()
        self.view.add_user_message(user_id, content)
        self._start_reply()

    def _history(self) -> tuple[ChatMessage, ...]:
        return tuple(
            ChatMessage(m.role, m.content)  # type: ignore[arg-type]  # the roles are filtered below
            for m in self._messages()
            if m.role in ("system", "user", "assistant") and (m.role != "assistant" or m.content)
        )

    def _ensure_conversation(self, title: str) -> int:
        if self.conversation_id is None:
            self.conversation_id = self.store.create(title[:TITLE_LENGTH].replace("\n", " "))
        return self.conversation_id

    def show_user_text(self, text: str) -> None:
        """Show (and keep) a user line that is not a message for the model, e.g. a command."""
        try:
            message_id = self.store.add_message(self._ensure_conversation(text), "user", text)
        except QuillpadError as err:
            self._show_notice(str(err))
            return
        self.view.add_user_message(message_id, text)

    def show_markdown(self, markdown: str) -> None:
        """Show Markdown from the app or a plugin (a command's reply)."""
        self.view.add_output(next(_notice_ids), markdown)

    def stream_turn(self, messages: tuple[ChatMessage, ...], options: object, on_answer: Callable[[str], None]) -> None:
        """Stream a plugin's model turn into the chat; ``on_answer`` gets the answer."""
        if self.busy:
            self._show_notice("A reply is still being written; wait for it or stop it first.")
            return
        if not self.model_ready:
            self._show_notice("No model is loaded yet: open a GGUF model first.")
            return
        self._ensure_conversation(messages[-1].content if messages else "Command")
        fields: dict[str, object] = {
            key: getattr(options, key)
            for key in ("thinking", "max_tokens", "seed", "grammar")
            if getattr(options, key, None) is not None
        }
        self._start_reply(messages, fields, on_answer)

    def _start_reply(
        self,
        history: tuple[ChatMessage, ...] | None = None,
        extra: dict[str, object] | None = None,
        on_answer: Callable[[str], None] | None = None,
    ) -> None:
        assert self.conversation_id is not None
        history = self._history() if history is None else history
        settings = self.settings()
        sampling = settings.engine.sampling
        fields: dict[str, object] = {
            "thinking": self.thinking.isChecked(),
            "seed": settings.engine.seed,
            "sampling": SamplingOverrides(
                temperature=sampling.temperature,
                top_p=sampling.top_p,
                top_k=sampling.top_k,
                min_p=sampling.min_p,
                presence_penalty=sampling.presence_penalty,
            ),
        }
        fields.update(extra or {})
        fields.update(self.request_overrides)
        request = ChatRequest(history, **fields)  # type: ignore[arg-type]  # fields are ChatRequest's own
        message_id = self.store.add_message(self.conversation_id, "assistant", "", complete=False)
        self.view.start_reply(message_id)
        self._reply = _Reply(request_id=self.bridge.send(request), message_id=message_id, on_answer=on_answer)
        self._update_buttons()
        self.busyChanged.emit(True)

    def stop(self) -> None:
        """Stop the reply being written, or the background work under way."""
        if self._tasks:
            for cancel in list(self._tasks.values()):
                cancel()
        elif self._reply is not None:
            self.bridge.stop()

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
        messages = self._messages()
        if not messages:
            return
        if messages[-1].role == "assistant":
            self._delete_message(messages[-1])
        if self._messages() and self._messages()[-1].role == "user":
            self._start_reply()

    def edit_last(self) -> None:
        """Put the last user message back in the box; sending replaces it."""
        if self.busy:
            return
        users = [m for m in self._messages() if m.role == "user"]
        if users:
            self.input.setPlainText(users[-1].content.partition(ATTACHMENT_MARKER)[0])
            self._editing_last = True

    def _drop_last_exchange(self) -> None:
        messages = self._messages()
        while messages and messages[-1].role == "assistant":
            self._delete_message(messages.pop())
        if messages and messages[-1].role == "user":
            self._delete_message(messages[-1])

    def _delete_message(self, message: StoredMessage) -> None:
        self.store.delete_message(message.id)
        self.view.remove_message(message.id)

    # -- streaming -------------------------------------------------------------

    def _on_events(self, request_id: int, events: list[EngineEvent]) -> None:
        started = time.perf_counter()
        try:
            self._handle_events(request_id, events)
        finally:
            self.render_seconds += time.perf_counter() - started

    def _handle_events(self, request_id: int, events: list[EngineEvent]) -> None:
        reply = self._reply
        if reply is None or reply.request_id != request_id:
            return
        thinking: list[str] = []
        answer: list[str] = []
        for event in events:
            if isinstance(event, ThinkingText):
                thinking.append(event.text)
            elif isinstance(event, AnswerText):
                answer.append(event.text)
            elif isinstance(event, Notice):
                reply.notices.append(event.message)
            elif isinstance(event, Stats):
                reply.stats = event
        # One view update per batch and channel, not per token.
        if thinking:
            reply.thinking.extend(thinking)
            self.view.append_thinking(reply.message_id, "".join(thinking))
        if answer:
            reply.answer.extend(answer)
            self.view.append_answer(reply.message_id, "".join(answer))
        now = time.monotonic()
        if now - reply.last_saved >= PERSIST_SECONDS:
            reply.last_saved = now
            self._persist(reply, complete=False)

    def _persist(self, reply: _Reply, complete: bool, extra: dict[str, float | int] | None = None) -> None:
        stats: dict[str, float | int] = dict(reply.stats.to_dict()) if reply.stats else {}
        stats.update(extra or {})
        try:
            self.store.update_message(
                reply.message_id, "".join(reply.answer), "".join(reply.thinking), complete=complete, stats=stats or None
            )
        except QuillpadError as err:
            self.notice.emit(str(err))

    def _on_ended(self, request_id: int, final: Done | EngineError) -> None:
        reply = self._reply
        if reply is None or reply.request_id != request_id:
            return
        self._reply = None
        notes = list(reply.notices)
        if isinstance(final, Done):
            reply.answer, reply.thinking = [final.answer], [final.thinking]
            if final.reason == "cancelled":
                notes.append("Stopped.")
            elif final.reason == "length":
                notes.append("Stopped at the length limit.")
            state = "stopped" if final.reason == "cancelled" else ""
            self._persist(
                reply, complete=final.reason != "cancelled", extra={"stopped": int(final.reason == "cancelled")}
            )
        else:
            notes.append(final.message)
            state = "error"
            self._persist(reply, complete=False)
            if final.crashed:
                self.engineCrashed.emit(final.message)
        self.view.finish_reply(reply.message_id, " ".join(notes), state)
        if reply.stats is not None:
            self.statsChanged.emit(reply.stats)
        self._update_buttons()
        self.busyChanged.emit(False)
        if reply.on_answer is not None and isinstance(final, Done) and final.reason != "cancelled":
            callback, answer = reply.on_answer, final.answer
            # Later, from the event loop: the follow-up may stream another reply.
            QTimer.singleShot(0, lambda: callback(answer))

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

    def shutdown(self) -> None:
        """Save a streaming reply as it stands (the app is closing)."""
        if self._reply is not None:
            self._persist(self._reply, complete=False)
        self.preview_tasks.shutdown()
        self.sandbox_tasks.shutdown(60_000)
