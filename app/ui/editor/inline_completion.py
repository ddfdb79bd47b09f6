"""Inline completion for the editor tabs: debounce, ask the completion engine off the GUI thread, show ghost text.

The GUI thread only builds the request (a bounded window around the cursor,
``app.core.completion.related.build_request``) and reserves its id, which
cancels any older request at once; the engine's blocking calls run through
the window's one background helper (``app.ui.tasks.TaskRunner``, one thread,
so loads and requests keep their order) and suggestions come back as plain
strings through the task's progress reports, throttled by the worker process
(~60 a second at most). A crash of the completion model
turns completion off with one notice until Restart; the editor is never
touched by the worker.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.core.completion.engine import CompletionEngine, CompletionResult, CompletionUnavailable
from app.core.completion.messages import CompletionLimits
from app.core.completion.related import build_request
from app.core.settings import CompletionSettings
from app.ui.editor.code_editor import CodeEditor
from app.ui.tasks import TaskRunner, TaskToken


class InlineCompletion(QObject):
    """Ghost-text suggestions for every editor of the window; one completion engine."""

    notice = Signal(str)  # one sentence for the window's status bar (a crash, a refusal)

    def __init__(self, settings: CompletionSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.engine = CompletionEngine()
        self.label = QLabel("", parent)
        self.root: Path | None = None
        # The other open tabs (path, text), asked for when a request is built; set by the window.
        self.open_files: Callable[[], list[tuple[Path, str]]] = list
        self._editor: CodeEditor | None = None
        self._path: Path | None = None
        self._pending: tuple[int, int] | None = None  # (request id, cursor position)
        self._ready = False
        self._said_crash = False
        self._on_tip = ""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._ask)
        self._runner = TaskRunner(self)
        self.apply_settings(settings)

    # -- settings and lifecycle ------------------------------------------------------------------

    def apply_settings(self, settings: CompletionSettings) -> None:
        """Load the chosen model (off the GUI thread), or turn completion off."""
        changed = settings.model != self.settings.model or not self._ready
        self.settings = settings
        self._timer.setInterval(settings.debounce_ms)
        if not settings.model:
            self._ready = False
            self._status("off", "No completion model is chosen; choose one in Settings ▸ Completion.")
            return
        if changed:
            self._ready = False
            self._status("loading…", f"Loading {Path(settings.model).name} for completion.")
            self._submit_load(lambda: self.engine.load(settings.model or "", threads=settings.threads))

    def restart(self) -> None:
        """After a crash: a fresh worker with the same model."""
        self._said_crash = False
        self._status("loading…", "Restarting the completion model.")
        self._submit_load(self.engine.restart)

    def shutdown(self) -> None:
        """End the worker process and the thread (window closing)."""
        self._timer.stop()
        self.engine.cancel()
        self._runner.shutdown()
        self.engine.close()

    def _status(self, state: str, why: str) -> None:
        self.label.setText(f"completion: {state}")
        self.label.setToolTip(why)

    def _submit_load(self, load: Callable[[], str]) -> None:
        def work(token: TaskToken) -> str:
            token.on_cancel(self.engine.kill)  # closing the window never waits for a slow load
            try:
                return load()
            except CompletionUnavailable as err:
                return "refused:" + str(err)

        self._runner.submit(work, on_result=self._on_load_result)

    def _on_load_result(self, outcome: str) -> None:
        if outcome.startswith("refused:"):
            self._on_refused(outcome.removeprefix("refused:"))
        else:
            self._on_loaded(outcome)

    def _on_loaded(self, fmt: str) -> None:
        self._ready = True
        self._on_tip = f"Inline completion with {Path(self.settings.model or '').name} ({fmt})."
        self._status("on", self._on_tip)

    def _on_refused(self, reason: str) -> None:
        self._ready = False
        self._status("off", reason)
        self.notice.emit(reason)

    # -- editors ---------------------------------------------------------------------------------

    def attach(self, editor: CodeEditor, path: str | None) -> None:
        """Follow ``editor`` (the current tab) at ``path``."""
        if self._editor is editor:
            self._path = Path(path) if path else None
            return
        self.detach()
        self._editor = editor
        self._path = Path(path) if path else None
        editor.document().contentsChange.connect(self._on_change)

    def detach(self) -> None:
        if self._editor is not None:
            self._editor.document().contentsChange.disconnect(self._on_change)
            self._editor.ghost.clear()
        self._editor = None
        self.engine.cancel()

    def _on_change(self, _position: int, _removed: int, _added: int) -> None:
        editor = self._editor
        if editor is None or editor.ghost.typed_through:
            return  # typing through the suggestion keeps it: no new request
        editor.ghost.clear()
        self.engine.cancel()  # the running request is stale from this keystroke on
        self._pending = None
        if self._ready and not editor.isReadOnly():
            self._timer.start()

    def _ask(self) -> None:
        editor = self._editor
        if editor is None or not self._ready or editor.textCursor().hasSelection():
            return
        cursor = editor.textCursor().position()
        request = build_request(editor.toPlainText(), cursor, self._path, self.root, self.open_files())
        request_id = self.engine.new_request_id()
        self._pending = (request_id, cursor)
        self._status("working…", "Asking the completion model.")
        limits = CompletionLimits(max_tokens=self.settings.max_tokens, max_lines=self.settings.max_lines)
        engine = self.engine

        def work(token: TaskToken) -> CompletionResult:
            token.on_cancel(engine.cancel)
            return engine.complete(
                request, limits, request_id=request_id, on_text=lambda rid, text: token.report((rid, text))
            )

        self._runner.submit(
            work,
            on_progress=lambda update: self._on_suggestion(*update),
            on_result=lambda result: self._on_finished(result.request_id, result.reason, result.error),
        )

    def _on_suggestion(self, request_id: int, text: str) -> None:
        if self._editor is None or self._pending is None or self._pending[0] != request_id:
            return
        self._editor.ghost.show(text, self._pending[1])

    def _on_finished(self, request_id: int, reason: str, error: str) -> None:
        if self._pending is not None and self._pending[0] == request_id:
            self._pending = None
        if reason == "error":
            if self.engine.state == "crashed":
                self._ready = False
                self._status("off", error)
                if not self._said_crash:
                    self._said_crash = True
                    self.notice.emit(error)
            return
        if self._ready and self._pending is None:
            self._status("on", self._on_tip)
