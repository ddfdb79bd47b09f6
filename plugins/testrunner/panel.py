"""The Tests panel (Qt): run, re-run failed, run the test at the cursor, stop,
jump to a failure, and fix it with the model. Runs happen off the GUI thread
(``context.run_in_background``); results come back as plain data, output lines
through a queued signal."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.api import CancelToken, CaseResult, PluginContext, QuillpadError, TestRun, TestRunResult, node_at_line
from plugins.testrunner.fix import fix_turn
from plugins.testrunner.summary import summary_markdown

OUTCOME_MARKS = {"passed": "✔ passed", "failed": "✘ failed", "error": "⚠ error", "skipped": "– skipped"}
MAX_OUTPUT_BLOCKS = 20_000


def failure_line(case: CaseResult) -> int:
    """The line that failed in the test's file (pytest's traceback says "file.py:9:"), else the test's start."""
    lines = re.findall(rf"^{re.escape(case.file)}:(\d+):", case.details, re.MULTILINE)
    return int(lines[-1]) if lines else (case.line or 1)


class TestsPanel(QWidget):
    """Results as a tree (file, class, test), the output beside it."""

    __test__ = False
    runFinished = Signal(object)  # TestRunResult
    outputArrived = Signal(str)  # emitted on the run's thread, shown on the GUI thread

    def __init__(self, context: PluginContext, plugin: Any) -> None:
        super().__init__()
        self.context = context
        self.plugin = plugin
        self.result: TestRunResult | None = None
        self._run: TestRun | None = None
        self.buttons: dict[str, QPushButton] = {}
        bar = QHBoxLayout()
        for key, label, slot in (
            ("run", "Run all", lambda: self.run([])),
            ("failed", "Re-run failed", self.rerun_failed),
            ("cursor", "Run test at cursor", self.run_at_cursor),
            ("stop", "Stop", self.stop),
            ("fix", "Fix with AI", self.fix_selected),
        ):
            button = QPushButton(label, self)
            button.clicked.connect(slot)
            bar.addWidget(button)
            self.buttons[key] = button
        bar.addStretch(1)
        self.summary = QLabel("No tests run yet.", self)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Test", "Result", "Time"])
        self.tree.itemActivated.connect(self._open_item)
        self.output = QPlainTextEdit(self)
        self.output.setReadOnly(True)
        self.output.setMaximumBlockCount(MAX_OUTPUT_BLOCKS)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self.tree)
        split.addWidget(self.output)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self.outputArrived.connect(self._on_output)
        self._update_buttons()

    # -- running ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._run is not None

    def _update_buttons(self) -> None:
        problems = bool(self.result and self.result.report.problems)
        self.buttons["run"].setEnabled(not self.running)
        self.buttons["failed"].setEnabled(not self.running and problems)
        self.buttons["cursor"].setEnabled(not self.running)
        self.buttons["stop"].setEnabled(self.running)
        self.buttons["fix"].setEnabled(not self.running and problems)

    def run(self, args: list[str]) -> bool:
        """Start a run with these pytest arguments; False if one is going or there is no project."""
        root = self.context.project_root()
        if self.running:
            self.context.notify("The tests are already running; stop them first.")
            return False
        if root is None:
            self.context.notify("Open a project folder first, then run its tests.")
            return False
        try:
            test_run = TestRun(root, args)
        except QuillpadError as err:
            self.context.notify(str(err))
            return False
        self._run = test_run
        self.output.clear()
        self.summary.setText("Running…")
        test_run.on_output = self.outputArrived.emit

        def work(token: CancelToken) -> TestRunResult:
            token.on_cancel(test_run.stop)  # the window is closing
            return test_run.run()

        self.context.run_in_background(work, self._on_finished, self._on_failed)
        self._update_buttons()
        return True

    def stop(self) -> None:
        if self._run is not None:
            self._run.stop()

    def rerun_failed(self) -> None:
        if self.result and self.result.report.problems:
            self.run([case.nodeid for case in self.result.report.problems])

    def run_at_cursor(self) -> None:
        """Run the test function (or class) around the cursor."""
        root = self.context.project_root()
        document = self.context.current_document()
        path = document.path() if document is not None else None
        if root is None or document is None or path is None:
            self.context.notify("Put the cursor in a test in a saved file of the project first.")
            return
        line = document.text()[: document.cursor()].count("\n") + 1
        nodeid = node_at_line(root, path, line)
        if nodeid is None:
            self.context.notify("The cursor is not inside a test function or test class.")
            return
        self.run([nodeid])

    def _on_output(self, text: str) -> None:
        self.output.moveCursor(self.output.textCursor().MoveOperation.End)
        self.output.insertPlainText(text)

    def _on_finished(self, result: TestRunResult) -> None:
        self._run = None
        self.result = result
        self.plugin.last = result
        self._fill_tree(result)
        counts = result.report.counts
        self.summary.setText(
            ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
            + f" in {result.seconds:.1f} s"
            + (f" — {result.message}" if result.message else "")
        )
        self._update_buttons()
        self.runFinished.emit(result)

    def _on_failed(self, message: str) -> None:
        self._run = None
        self.summary.setText(message)
        self.context.notify(message)
        self._update_buttons()

    def _fill_tree(self, result: TestRunResult) -> None:
        self.tree.clear()
        for file, classes in result.report.tree().items():
            file_item = QTreeWidgetItem([file, "", ""])
            self.tree.addTopLevelItem(file_item)
            for cls, cases in classes.items():
                parent = file_item
                if cls:
                    parent = QTreeWidgetItem([cls, "", ""])
                    file_item.addChild(parent)
                for case in cases:
                    item = QTreeWidgetItem([case.name, OUTCOME_MARKS[case.outcome], f"{case.duration:.2f} s"])
                    item.setData(0, Qt.ItemDataRole.UserRole, case.nodeid)
                    if case.message:
                        item.setToolTip(0, case.message)
                    parent.addChild(item)
            file_item.setExpanded(any(c.outcome in ("failed", "error") for cs in classes.values() for c in cs))

    # -- failures ---------------------------------------------------------------------

    def case_of(self, item: QTreeWidgetItem | None) -> CaseResult | None:
        if item is None or self.result is None:
            return None
        nodeid = item.data(0, Qt.ItemDataRole.UserRole)
        return next((case for case in self.result.report.cases if case.nodeid == nodeid), None)

    def _open_item(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        case = self.case_of(item)
        root = self.context.project_root()
        editor = self.context.editor
        if case is None or root is None or editor is None or not case.file:
            return
        try:
            editor.show(Path(root) / case.file, failure_line(case))
        except QuillpadError as err:
            self.context.notify(str(err))

    def fix_selected(self) -> None:
        """Send the selected (else the first) failure to the model; re-run it once the fix is applied."""
        case = self.case_of(self.tree.currentItem()) or self.plugin.failing()
        root = self.context.project_root()
        if case is None or case.outcome not in ("failed", "error") or root is None:
            self.context.notify("Select a failed test first.")
            return
        if not self.context.has("model"):
            self.context.notify("Fixing needs a loaded model; load a model first.")
            return
        try:
            self.context.carry_out(fix_turn(self.context, case, root), on_applied=lambda _keys: self.rerun_failed())
        except QuillpadError as err:
            self.context.notify(str(err))

    def summary_markdown(self) -> str:
        return summary_markdown(self.result) if self.result is not None else "No tests run yet."
