"""The Evaluate panel: choose a task and a model, run, watch, compare runs.

The model runs on this computer (a GGUF file) or on a model server of a
connection profile ("Run on", the active profile by default), with several
requests in flight ("Requests at once"). The run is an ``EvalWork`` off the
GUI thread (see ``worker.py`` for why it has its own engine or connections);
the panel only draws the plain data it reports.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.engine.requests import load_options, sampling_overrides
from app.core.evaluation.report import HTML_NAME, headline, recent_reports, run_label
from app.core.evaluation.runner import MAX_CONCURRENCY, EvalConfig, Mode, Progress
from app.core.evaluation.server import DEFAULT_CONCURRENCY
from app.core.evaluation.store import default_run_folder, evaluations_folder
from app.core.evaluation.tasks import KINDS
from app.core.settings import LOCAL_PROFILE, ConnectionProfile, Settings
from app.ui.evaluation.chart import ChartRun, RunsChart
from app.ui.evaluation.report_view import ReportView, open_report
from app.ui.evaluation.worker import EvalRequest, EvalWork, RunFolder, progress_text
from app.ui.tasks import TaskRunner, failure_text
from app.ui.theme.scale import Space

MODES: tuple[tuple[str, Mode], ...] = (
    ("Model", "model"),
    ("Self-check: reference solutions", "canonical"),
    ("Self-check: empty answers", "empty"),
)
COLUMNS = ("Task", "Seed", "Result", "Answer", "Reason", "Thinking chars")
CHART_RUNS = 8
SERVER_REQUEST_TIMEOUT = 1800.0  # seconds one server request may take, as quillpad eval's default

RESULTS_MIN_HEIGHT = 2 * Space.XL  # px, each of the results table and the task detail


class EvaluatePanel(QWidget):
    """Form, progress, a results table and a chart of the recent runs."""

    runFinished = Signal(object)  # the report (dict), or None when cancelled before it began

    def __init__(
        self,
        loaded_model: Callable[[], str | None],
        settings: Callable[[], Settings],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.loaded_model = loaded_model
        self.settings = settings
        self.tasks = TaskRunner(self)
        self.job: EvalWork | None = None
        self.report_view: ReportView | None = None  # the report shown inside the app (no browser)
        self.report: dict[str, Any] | None = None
        self.folder: Path | None = None  # of the last run started
        self.history: list[dict[str, Any]] = []
        self.records: list[dict[str, Any]] = []  # of the table's rows, in order
        self._build()
        self.refresh_connections()
        self.load_history()
        self._update_buttons()

    # -- construction ------------------------------------------------------------------

    def _build(self) -> None:
        self.kind = QComboBox(self)
        self.kind.addItems(list(KINDS))
        self.mode = QComboBox(self)
        for label, value in MODES:
            self.mode.addItem(label, value)
        self.run_on = QComboBox(self)
        self.run_on.setToolTip("This computer (a GGUF file) or a model server of a connection profile")
        self.run_on.currentIndexChanged.connect(self._on_run_on_changed)
        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(1, MAX_CONCURRENCY)
        self.concurrency.setValue(1)
        self.concurrency.setToolTip("Requests in flight at once (a model server; a local model answers one at a time)")
        self.model_path = QLineEdit(self)
        self.model_path.setPlaceholderText("GGUF model (default: the one loaded in the window)")
        self.data_path = QLineEdit(self)
        self.data_path.setPlaceholderText(
            "JSONL or Parquet data (default: HumanEval's package data or the built-in sample)"
        )
        self.limit = QSpinBox(self)
        self.limit.setRange(0, 100_000)
        self.limit.setSpecialValueText("all")
        self.limit.setValue(10)
        self.seeds = QLineEdit("1", self)
        self.seeds.setMaximumWidth(90)
        self.seeds.setToolTip("Comma-separated seeds; each seed is one run over the tasks")
        self.thinking = QComboBox(self)
        self.thinking.addItem("profile default", None)
        self.thinking.addItem("on", True)
        self.thinking.addItem("off", False)
        self.max_tokens = QSpinBox(self)
        self.max_tokens.setRange(0, 1_000_000)
        self.max_tokens.setSpecialValueText("to context end")
        self.max_tokens.setValue(4096)
        self.workers = QSpinBox(self)
        self.workers.setRange(1, 64)
        self.workers.setValue(2)
        self.run_button = QPushButton("Run", self)
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open report", self)
        self.open_button.clicked.connect(self.open_report)
        browse_model = self.browse_model = QPushButton("…", self)
        browse_model.clicked.connect(lambda: self._browse(self.model_path, "GGUF models (*.gguf)"))
        browse_data = QPushButton("…", self)
        browse_data.clicked.connect(lambda: self._browse(self.data_path, "Data (*.jsonl *.jsonl.gz *.json *.parquet)"))

        form = QGridLayout()
        form.addWidget(QLabel("Task", self), 0, 0)
        form.addWidget(self.kind, 0, 1)
        form.addWidget(self.mode, 0, 2, 1, 2)
        form.addWidget(QLabel("Run on", self), 0, 4)
        form.addWidget(self.run_on, 0, 5)
        form.addWidget(QLabel("Model", self), 0, 6)
        form.addWidget(self.model_path, 0, 7, 1, 2)
        form.addWidget(browse_model, 0, 9)
        form.addWidget(QLabel("Limit", self), 1, 0)
        form.addWidget(self.limit, 1, 1)
        form.addWidget(QLabel("Seeds", self), 1, 2)
        form.addWidget(self.seeds, 1, 3)
        form.addWidget(QLabel("Data", self), 1, 4)
        form.addWidget(self.data_path, 1, 5, 1, 4)
        form.addWidget(browse_data, 1, 9)
        row = QHBoxLayout()
        for label, widget in (
            ("Thinking", self.thinking),
            ("Max tokens", self.max_tokens),
            ("Workers", self.workers),
            ("Requests at once", self.concurrency),
        ):
            row.addWidget(QLabel(label, self))
            row.addWidget(widget)
        row.addStretch(1)
        for button in (self.run_button, self.cancel_button, self.open_button):
            row.addWidget(button)

        self.progress = QProgressBar(self)
        self.progress.setValue(0)
        self.status = QLabel("Choose a task and a model, then Run. Self-checks need no model.", self)
        self.status.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.currentCellChanged.connect(lambda row, *_: self._show_detail(row))
        self.detail = QPlainTextEdit(self)
        self.detail.setReadOnly(True)
        self.detail.setPlaceholderText("Select a task to see its prompt, the model's output and the error output.")
        self.chart = RunsChart(self)
        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(self.table)
        left.addWidget(self.detail)
        left.setSizes([300, 140])
        # Two rows of results are enough to start with: the panel opens at a third of the window, not 40 %.
        for view in (self.table, self.detail):
            view.setMinimumHeight(RESULTS_MIN_HEIGHT)
        split = QSplitter(self)
        split.addWidget(left)
        split.addWidget(self.chart)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setSizes([600, 500])

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)

    def refresh_connections(self) -> None:
        """List this computer and the saved server profiles; select the active one (or keep the choice)."""
        connections = self.settings().connections
        previous = self.run_on.currentData() if self.run_on.count() else connections.active
        self.run_on.blockSignals(True)
        self.run_on.clear()
        for profile in connections.profiles:
            label = profile.name if profile.backend == "local" else f"{profile.name} (server)"
            self.run_on.addItem(label, profile.name)
        index = self.run_on.findData(previous)
        self.run_on.setCurrentIndex(max(0, index if index >= 0 else self.run_on.findData(connections.active)))
        self.run_on.blockSignals(False)
        self._on_run_on_changed()

    def _server_profile(self) -> ConnectionProfile | None:
        """The server profile "Run on" names; None for this computer."""
        profile = self.settings().connections.profile(str(self.run_on.currentData() or LOCAL_PROFILE))
        return profile if profile is not None and profile.backend == "remote" else None

    def _on_run_on_changed(self, *_: object) -> None:
        server = self._server_profile()
        self.browse_model.setEnabled(server is None)
        self.concurrency.setEnabled(server is not None)
        if server is None:
            self.model_path.setPlaceholderText("GGUF model (default: the one loaded in the window)")
            self.concurrency.setValue(1)
        else:
            shown = server.model or "the first it lists"
            self.model_path.setPlaceholderText(f"model name on the server (default: {shown})")
            if self.concurrency.value() == 1:
                self.concurrency.setValue(DEFAULT_CONCURRENCY)

    def _browse(self, target: QLineEdit, pattern: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a file", target.text(), pattern)
        if path:
            target.setText(path)

    # -- state ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.job is not None

    def _update_buttons(self) -> None:
        self.run_button.setEnabled(not self.running)
        self.cancel_button.setEnabled(self.running)
        self.open_button.setEnabled(self.report is not None and not self.running)

    def load_history(self) -> None:
        """Recent runs from the evaluations folder, for the chart."""
        self.history = recent_reports(evaluations_folder(), CHART_RUNS)
        self._draw_chart()

    def _draw_chart(self) -> None:
        runs = []
        for report in self.history[-CHART_RUNS:]:
            pooled = report["summary"]["pooled"]
            low, high = pooled["ci95"]
            runs.append(ChartRun(run_label(report), pooled["pass_at_1"], low, high))
        self.chart.set_runs(runs)

    # -- running ---------------------------------------------------------------------------

    def request(self) -> EvalRequest:
        """The run the form describes (raises ``QuillpadError`` for bad values)."""
        from app.core.engine.options import InvalidOptionError

        try:
            seeds = tuple(int(part) for part in self.seeds.text().split(",") if part.strip())
        except ValueError:
            raise InvalidOptionError("Seeds must be numbers separated by commas, like 1,2,3.") from None
        mode: Mode = self.mode.currentData()
        server = self._server_profile() if mode == "model" else None
        config = EvalConfig(
            kind=KINDS[self.kind.currentIndex()],  # the combo lists KINDS in order
            mode=mode,
            seeds=seeds,
            limit=self.limit.value() or None,
            thinking=self.thinking.currentData(),
            max_tokens=self.max_tokens.value() or None,
            workers=self.workers.value(),
            concurrency=self.concurrency.value() if server is not None else 1,
            request_timeout=SERVER_REQUEST_TIMEOUT if server is not None else None,
        )
        config.validate()
        settings = self.settings()
        sampling = sampling_overrides(settings)
        data = self.data_path.text().strip() or None
        if server is not None:
            # The served model's folder is known once connected (the worker reports it).
            name = self.model_path.text().strip() or None
            return EvalRequest(config, "", name, data, sampling=sampling, server=server)
        model = (self.model_path.text().strip() or self.loaded_model() or None) if mode == "model" else None
        if mode == "model" and not model:
            raise InvalidOptionError("Choose the GGUF model to evaluate (or load one in the window) first.")
        load = load_options(settings)
        out = default_run_folder(config.kind, mode, model, config.thinking)
        return EvalRequest(config, str(out), model, data, load, sampling)

    def start(self) -> bool:
        """Start the run the form describes; False (with the reason shown) if it cannot."""
        if self.running:
            return False
        from app.core.errors import QuillpadError

        try:
            request = self.request()
        except QuillpadError as err:
            self.status.setText(str(err))
            return False
        self.table.setRowCount(0)
        self.records.clear()
        self.detail.clear()
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.report = None
        self.folder = Path(request.out) if request.out else None
        work = EvalWork(request)
        self.job = work
        self.tasks.submit(
            work,
            on_result=lambda outcome: self._on_finished(*outcome),
            on_error=lambda err: self._on_failed(failure_text(err, "The evaluation")),
            on_progress=self._on_report,
        )
        self._update_buttons()
        return True

    def cancel(self) -> None:
        """Stop the run; tasks already finished are kept and a re-run continues."""
        if self.job is not None:
            self.status.setText("Cancelling…")
            self.cancel_button.setEnabled(False)
            self.job.cancel()

    def shutdown(self) -> None:
        """Cancel any run and wait for it to end (the app is closing)."""
        self.cancel()
        self.tasks.shutdown(60_000)

    def _on_report(self, value: object) -> None:
        if isinstance(value, Progress):
            self._on_progress(value)
        elif isinstance(value, RunFolder):
            self._on_folder(value.path)
        else:
            self.status.setText(str(value))  # the stage: "Loading the model…"

    def _on_folder(self, folder: str) -> None:
        self.folder = Path(folder)

    def _on_progress(self, progress: Progress) -> None:
        self.progress.setRange(0, max(1, progress.total))
        self.progress.setValue(progress.done)
        self.progress.setFormat(f"%v/%m ({progress.passed} passed)")
        if progress.last:
            self._add_row(progress.last)
        self.status.setText(progress_text(progress))

    def _show_detail(self, row: int) -> None:
        if not 0 <= row < len(self.records):
            self.detail.clear()
            return
        record = self.records[row]
        verdict = "ERROR (asked again on the next run)" if record.get("error") else _verdict(record)
        parts = [f"{record['task_id']} (seed {record['seed']}): {verdict}"]
        parts.append(f"Reason: {record['reason']}")
        if record.get("expected"):
            parts.append(f"Expected: {record['expected']}    Extracted: {record.get('extracted')}")
        if record.get("thinking_chars"):
            parts.append(f"Thinking: {record['thinking_chars']} characters (removed before scoring)")
        if record.get("prompt"):
            parts.append("── Prompt ──\n" + record["prompt"])
        parts.append("── Output ──\n" + (record.get("output") or "(empty)"))
        if record.get("stderr") and not record["passed"]:
            parts.append("── Error output ──\n" + record["stderr"])
        self.detail.setPlainText("\n\n".join(parts))

    def _add_row(self, record: dict[str, Any]) -> None:
        self.records.append(record)
        row = self.table.rowCount()
        self.table.insertRow(row)
        code = str(record.get("method", "")).startswith(("code", "whole", "canonical", "empty"))
        values = (
            record["task_id"],
            str(record["seed"]),
            "ERROR" if record.get("error") else _verdict(record),
            (record.get("method") if code else record.get("extracted")) or "",
            record["reason"],
            str(record.get("thinking_chars", 0)),
        )
        for column, value in enumerate(values):
            item = QTableWidgetItem(str(value))
            if column == 4:
                item.setToolTip(str(record.get("stderr") or value)[-1500:])
            self.table.setItem(row, column, item)
        self.table.scrollToBottom()

    def _on_finished(self, report: dict[str, Any] | None, cancelled: bool) -> None:
        self.job = None
        self.progress.setRange(0, max(1, self.progress.maximum()))
        if report is not None:
            self.report = report
            self.history = [r for r in self.history if r.get("fingerprint") != report["fingerprint"]] + [report]
            self._draw_chart()
            state = "Cancelled; run again to continue. " if cancelled else ""
            rates = report.get("throughput") or {}
            speed = f" — {rates['requests_per_second']:.2f} requests/s" if report.get("server") and rates else ""
            lost = (
                f"; {len(report['errors'])} lost to the server, run again to ask them" if report.get("errors") else ""
            )
            self.status.setText(f"{state}{headline(report)}{speed}{lost}")
        else:
            self.status.setText("Cancelled before the run began.")
        self._update_buttons()
        self.runFinished.emit(report)

    def _on_failed(self, message: str) -> None:
        self.job = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status.setText(message)
        self._update_buttons()
        self.runFinished.emit(None)

    def open_report(self) -> None:
        """Open the last run's HTML report in the browser, or inside the app when there is none."""
        if self.report is not None and self.folder is not None:
            view = self.report_view = open_report(self.folder / HTML_NAME, self)
            if view is not None:
                view.destroyed.connect(self._report_view_gone)

    def _report_view_gone(self) -> None:
        self.report_view = None


def _verdict(record: dict[str, Any]) -> str:
    return "pass" if record["passed"] else "FAIL"
