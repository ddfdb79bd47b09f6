"""The settings dialog: where replies come from (connection profiles), engine, sampling, appearance, models,
and the options plugins declare."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFontComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.engine.options import physical_cores
from app.core.plugins.contributions import OptionValue, PluginSetting
from app.core.plugins.options import effective
from app.core.remote.profiles import KeyEdits, ProfileError, check_name, check_profiles, same_server
from app.core.settings import LOCAL_PROFILE, ConnectionProfile, Settings
from app.core.testing.interpreter import detect_project_python, project_key
from app.ui.shell.tools_page import ToolRow, ToolsPage
from app.ui.theme.scale import set_text_role


def _optional_spin(minimum: int, maximum: int, value: int | None, auto: str) -> QSpinBox:
    """A spin box whose lowest value means "automatic"."""
    spin = QSpinBox()
    spin.setRange(minimum - 1, maximum)
    spin.setSpecialValueText(auto)
    spin.setValue(value if value is not None else minimum - 1)
    return spin


def _optional_double(minimum: float, maximum: float, step: float, value: float | None) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setDecimals(2)
    spin.setSingleStep(step)
    spin.setRange(minimum - step, maximum)
    spin.setSpecialValueText("model default")
    spin.setValue(value if value is not None else minimum - step)
    return spin


def _spin_value(spin: QSpinBox) -> int | None:
    return None if spin.value() == spin.minimum() else spin.value()


def _double_value(spin: QDoubleSpinBox) -> float | None:
    return None if spin.value() <= spin.minimum() + 1e-9 else round(spin.value(), 2)


@dataclass
class _Draft:
    """A connection profile being edited: its fields, its name when the dialog opened, a typed key."""

    data: dict[str, Any]
    origin: str | None
    key: str = ""
    origin_url: str = ""

    def __post_init__(self) -> None:
        self.origin_url = self.data["base_url"]


# One plugin's page in the Plugins group: its id, its name, the options it declares.
PluginPage = tuple[str, str, Sequence[PluginSetting]]
OptionWidget = QCheckBox | QSpinBox | QLineEdit


def _option_widget(setting: PluginSetting, value: OptionValue) -> OptionWidget:
    widget: OptionWidget
    if isinstance(setting.default, bool):
        widget = QCheckBox(setting.label)
        widget.setChecked(bool(value))
    elif isinstance(setting.default, int):
        widget = QSpinBox()
        widget.setRange(-(2**31), 2**31 - 1)
        widget.setValue(int(value))
    else:
        widget = QLineEdit(str(value))
    widget.setToolTip(setting.help)
    return widget


def _option_value(widget: OptionWidget) -> OptionValue:
    if isinstance(widget, QCheckBox):
        return widget.isChecked()
    if isinstance(widget, QSpinBox):
        return widget.value()
    return widget.text()


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives the new ones, ``key_edits()`` the keys.

    ``keyed`` names the profiles that have an API key in the keyring;
    ``plugin_pages`` the plugins that declare options (shown in a Plugins group).
    """

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        keyed: frozenset[str] | set[str] = frozenset(),
        plugin_pages: Sequence[PluginPage] = (),
        project_root: Path | None = None,
        refs_status: str = "",
        tool_rows: Sequence[ToolRow] = (),
        mcp_text: str = "",
    ) -> None:
        super().__init__(parent)
        self.project_root = project_root
        self.setWindowTitle("Settings")
        self._original = settings
        engine, sampling, ui = settings.engine, settings.engine.sampling, settings.ui
        server_box = self._build_server_box(settings, keyed)

        cores = physical_cores()
        self.threads = _optional_spin(1, 256, engine.threads, f"automatic ({cores} or {max(1, cores - 1)}, measured)")
        self.threads.setToolTip(
            "Threads that write the reply. llama.cpp's threads wait for each other after every step, so one "
            "thread the system lends to another program (this window, a browser, a build) stalls them all: "
            "on a 2-core machine with one busy program beside it, 1 thread decoded 2.5x faster than 2. "
            "Automatic keeps the count that measured faster, trying the other one (all cores or one fewer) "
            "a little into a reply. While all cores win it tries again less and less often (192 tokens "
            "later, then twice as long each time) and at once when replies get 1.5x slower for a while "
            "(a program started); while one fewer wins it tries all cores at least every 1,024 tokens, since the other "
            "program ending does not show otherwise. It switches only to a count at least 10% faster, so "
            "measurement noise on a quiet machine does not cost a reply a thread."
        )
        self.threads_batch = _optional_spin(1, 256, engine.threads_batch, f"automatic ({cores} cores)")
        self.threads_batch.setToolTip(
            "Threads that read the prompt. Prompts are processed in large batches, where all cores win."
        )
        self.state_ram = QSpinBox()
        self.state_ram.setRange(0, 1_048_576)
        self.state_ram.setSuffix(" MB")
        self.state_ram.setSpecialValueText("off")
        self.state_ram.setValue(engine.state_ram_mb)
        self.state_disk = QSpinBox()
        self.state_disk.setRange(0, 1_048_576)
        self.state_disk.setSuffix(" MB")
        self.state_disk.setSpecialValueText("off")
        self.state_disk.setValue(engine.state_disk_mb)
        for budget in (self.state_ram, self.state_disk):
            budget.setToolTip(
                "After each reply the model's memory of the chat is kept, so switching back to a chat, "
                "reloading the model or reopening the app reads only your new message instead of the whole "
                "conversation. A 3,000-token chat with Qwen3-1.7B takes about 350 MB. The least recently used "
                "chats are dropped beyond these budgets; off keeps none."
            )
        self.context = _optional_spin(256, 1_048_576, engine.context_length, "model default")
        self.context.setSingleStep(1024)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 1000)
        self.gpu_layers.setSpecialValueText("all")
        self.gpu_layers.setValue(engine.gpu_layers)
        self.gpu_layers.setToolTip("0 runs on the CPU only; layers offloaded need a GPU build of llama.cpp")
        self.thinking = QCheckBox("Let the model think before answering")
        self.thinking.setChecked(engine.thinking)
        self.seed = QSpinBox()
        self.seed.setRange(-1, 2**31 - 1)
        self.seed.setSpecialValueText("random")
        self.seed.setValue(engine.seed)
        engine_box = QGroupBox("Model")
        engine_form = QFormLayout(engine_box)
        engine_form.addRow("CPU threads (reply):", self.threads)
        engine_form.addRow("CPU threads (prompt):", self.threads_batch)
        engine_form.addRow("Saved chat states in RAM:", self.state_ram)
        engine_form.addRow("Saved chat states on disk:", self.state_disk)
        engine_form.addRow("Context length (tokens):", self.context)
        engine_form.addRow("GPU layers:", self.gpu_layers)
        engine_form.addRow("Seed:", self.seed)
        engine_form.addRow(self.thinking)

        self.temperature = _optional_double(0.0, 2.0, 0.05, sampling.temperature)
        self.top_p = _optional_double(0.0, 1.0, 0.05, sampling.top_p)
        self.top_k = _optional_spin(0, 1000, sampling.top_k, "model default")
        self.min_p = _optional_double(0.0, 1.0, 0.01, sampling.min_p)
        self.presence = _optional_double(0.0, 2.0, 0.1, sampling.presence_penalty)
        self.presence.setToolTip("0–2; raise it if the model repeats itself")
        sampling_box = QGroupBox("Sampling (empty: the model family's recommended values)")
        sampling_form = QFormLayout(sampling_box)
        sampling_form.addRow("Temperature:", self.temperature)
        sampling_form.addRow("Top-p:", self.top_p)
        sampling_form.addRow("Top-k:", self.top_k)
        sampling_form.addRow("Min-p:", self.min_p)
        sampling_form.addRow("Presence penalty:", self.presence)

        self.theme = QComboBox()
        self.theme.addItems(["system", "light", "dark"])
        self.theme.setCurrentText(ui.theme)
        self.editor_font = QFontComboBox()
        self.editor_font.setFontFilters(QFontComboBox.FontFilter.MonospacedFonts)
        if ui.editor_font_family:
            self.editor_font.setCurrentText(ui.editor_font_family)
        self._font_shown = self.editor_font.currentText()
        self.font_size = QSpinBox()
        self.font_size.setRange(6, 72)
        self.font_size.setValue(ui.editor_font_size)
        look_box = QGroupBox("Appearance")
        look_form = QFormLayout(look_box)
        look_form.addRow("Theme:", self.theme)
        look_form.addRow("Editor font:", self.editor_font)
        look_form.addRow("Editor font size:", self.font_size)

        self.models_dir = QLineEdit(settings.models_dir or "")
        self.models_dir.setPlaceholderText("default: the models folder in the app's data folder")
        self.offline = QCheckBox("Work offline: never use the network (downloads are refused)")
        self.offline.setChecked(settings.models.offline)
        models_box = QGroupBox("Models")
        models_form = QFormLayout(models_box)
        models_form.addRow("Models folder:", self.models_dir)
        models_form.addRow(self.offline)

        completion = settings.completion
        self.completion_model = QLineEdit(completion.model or "")
        self.completion_model.setPlaceholderText("off: no completion model (a GGUF with fill-in-the-middle tokens)")
        self.completion_model.setToolTip(
            "Inline suggestions in the editor need a coding model trained for fill-in-the-middle, "
            "such as Qwen2.5-Coder 1.5B (Models window, 'for completion'). Empty turns completion off."
        )
        self.completion_debounce = QSpinBox()
        self.completion_debounce.setRange(50, 5000)
        self.completion_debounce.setSuffix(" ms")
        self.completion_debounce.setValue(completion.debounce_ms)
        self.completion_tokens = QSpinBox()
        self.completion_tokens.setRange(1, 512)
        self.completion_tokens.setValue(completion.max_tokens)
        self.completion_lines = QSpinBox()
        self.completion_lines.setRange(1, 100)
        self.completion_lines.setValue(completion.max_lines)
        completion_box = QGroupBox("Inline completion (Tab accepts, Ctrl+→ accepts a word, Esc dismisses)")
        completion_form = QFormLayout(completion_box)
        completion_form.addRow("Completion model:", self.completion_model)
        completion_form.addRow("Wait after typing:", self.completion_debounce)
        completion_form.addRow("Longest suggestion (tokens):", self.completion_tokens)
        completion_form.addRow("Longest suggestion (lines):", self.completion_lines)
        refs_box = self._build_refs_box(settings, refs_status)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.plugin_options: dict[str, dict[str, OptionWidget]] = {}
        # Tabs keep the dialog small enough for a laptop screen as sections grow.
        self.tabs = QTabWidget(self)
        pages: list[tuple[str, list[QWidget]]] = [
            ("Replies", [server_box]),
            ("Model", [engine_box, sampling_box]),
            ("Appearance", [look_box]),
            ("Models", [models_box]),
            ("Completion", [completion_box]),
            ("Code references", [refs_box]),
        ]
        if project_root is not None:
            pages.append(("Project", [self._build_project_box(settings, project_root)]))
        if plugin_pages:
            pages.append(("Plugins", [self._build_plugins_box(settings, plugin_pages)]))
        self.tools_page = ToolsPage(settings.agent, tool_rows, mcp_text)
        pages.append(("Tools", [self.tools_page]))
        for title, boxes in pages:
            page = QWidget()
            column = QVBoxLayout(page)
            for box in boxes:
                column.addWidget(box)
            column.addStretch(1)
            self.tabs.addTab(page, title)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)

    def _build_project_box(self, settings: Settings, root: Path) -> QGroupBox:
        """The open project's own settings: the Python that runs its tests."""
        box = QGroupBox(f"This project: {root}")
        form = QFormLayout(box)
        project = settings.projects.get(project_key(root))
        self.project_python = QLineEdit(project.python if project and project.python else "")
        detected = detect_project_python(root)
        found = detected.describe() if detected else "none found (create the project's venv)"
        self.project_python.setPlaceholderText(f"detected: {found}")
        self.project_python.setToolTip(
            "Empty: the project's .venv or venv, its Poetry or conda environment, or python3 on PATH — "
            "never Quillpad's own Python."
        )
        form.addRow("Python for its tests:", self.project_python)
        return box

    def _build_refs_box(self, settings: Settings, status: str) -> QGroupBox:
        refs = settings.refs
        self.refs_enabled = QCheckBox("Check generated code against code installed on this computer")
        self.refs_enabled.setChecked(refs.enabled)
        self.refs_confirm = QCheckBox("Ask again before applying an edit that matches indexed code")
        self.refs_confirm.setChecked(refs.confirm_matches)
        self.refs_min_tokens = QSpinBox()
        self.refs_min_tokens.setRange(20, 2000)
        self.refs_min_tokens.setValue(refs.min_tokens)
        self.refs_min_tokens.setToolTip(
            "Normalised tokens a match must cover; 40 is about 150 characters of Python, 50 ignores more boilerplate"
        )
        self.refs_folders = QPlainTextEdit("\n".join(refs.folders))
        self.refs_folders.setPlaceholderText("one folder per line, e.g. a checkout of a library you care about")
        self.refs_folders.setMaximumHeight(90)
        add = QPushButton("Add folder…")
        add.clicked.connect(self._add_refs_folder)
        self.refs_status = QLabel(status or "The index is built in the background when the app starts.")
        self.refs_status.setWordWrap(True)
        explain = QLabel(
            "Installed Python packages (Quillpad's and the open project's environments) and the folders "
            "below are indexed. Only code on this computer is compared: no match is not proof of originality."
        )
        explain.setWordWrap(True)
        box = QGroupBox("Code references")
        form = QFormLayout(box)
        form.addRow(self.refs_enabled)
        form.addRow(self.refs_confirm)
        form.addRow("Minimum match (tokens):", self.refs_min_tokens)
        form.addRow("Also index these folders:", self.refs_folders)
        form.addRow("", add)
        form.addRow(explain)
        form.addRow("Index:", self.refs_status)
        return box

    def _add_refs_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of code to compare against")
        if folder:
            lines = [line for line in self.refs_folders.toPlainText().splitlines() if line.strip()]
            self.refs_folders.setPlainText("\n".join([*lines, folder]))

    def _build_plugins_box(self, settings: Settings, pages: Sequence[PluginPage]) -> QGroupBox:
        box = QGroupBox("Plugins")
        form = QFormLayout(box)
        for plugin_id, name, declared in pages:
            values = effective(declared, settings.plugins.get(plugin_id, {}))
            widgets = self.plugin_options.setdefault(plugin_id, {})
            title = QLabel(name)
            set_text_role(title, "title")
            form.addRow(title)
            for setting in declared:
                widget = _option_widget(setting, values[setting.key])
                widgets[setting.key] = widget
                if isinstance(widget, QCheckBox):
                    form.addRow(widget)
                else:
                    form.addRow(f"{setting.label}:", widget)
        return box

    def _build_server_box(self, settings: Settings, keyed: frozenset[str] | set[str]) -> QGroupBox:
        connections = settings.connections
        self._keyed = set(keyed)
        self._drafts = [_Draft(p.model_dump(), p.name) for p in connections.profiles]
        self._shown = -1
        self.profile = QComboBox()
        self.profile.setToolTip("The connection in use; the fields below edit it")
        self.add_button = QPushButton("Add…")
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        self.add_button.clicked.connect(self._ask_add)
        self.rename_button.clicked.connect(self._ask_rename)
        self.delete_button.clicked.connect(self.delete_profile)
        chooser = QHBoxLayout()
        chooser.addWidget(self.profile, 1)
        for button in (self.add_button, self.rename_button, self.delete_button):
            chooser.addWidget(button)
        self.backend = QComboBox()
        self.backend.addItem("This computer (a GGUF model file)", "local")
        self.backend.addItem("A model server (OpenAI-compatible: vLLM, llama-server, Ollama, LM Studio)", "remote")
        self.server_url = QLineEdit()
        self.server_url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.server_model = QLineEdit()
        self.server_model.setPlaceholderText("empty: the server's first model")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("optional: a certificate authority file for a self-signed https:// server")
        # A big model on a busy server can think silently for minutes; the user decides how long is "stalled".
        self.read_timeout = QDoubleSpinBox()
        self.read_timeout.setRange(1.0, 3600.0)
        self.read_timeout.setDecimals(0)
        self.read_timeout.setSuffix(" s")
        self.read_timeout.setToolTip("How long the server may stay silent inside a reply before it counts as stalled.")
        self.profile_error = QLabel()
        self.profile_error.setWordWrap(True)
        self.profile_error.setStyleSheet("color: #c62828")
        self.profile_error.hide()
        box = QGroupBox("Where replies come from")
        form = QFormLayout(box)
        form.addRow("Connection:", chooser)
        form.addRow("Run the model on:", self.backend)
        form.addRow("Server address:", self.server_url)
        form.addRow("Model name:", self.server_model)
        form.addRow("API key:", self.api_key)
        form.addRow("Trusted CA file:", self.ca_file)
        form.addRow("Silence allowed:", self.read_timeout)
        form.addRow(self.profile_error)
        for draft in self._drafts:
            self.profile.addItem(draft.data["name"])
        self.profile.currentIndexChanged.connect(self._show_profile)
        self.backend.currentIndexChanged.connect(self._update_server_fields)
        self.server_url.textChanged.connect(self._update_key_hint)
        active = next((i for i, d in enumerate(self._drafts) if d.data["name"] == connections.active), 0)
        self.profile.setCurrentIndex(active)
        self._show_profile(active)
        return box

    # -- connection profiles ---------------------------------------------------

    def _store_shown(self) -> None:
        """Keep what the fields say in the profile they show."""
        if not 0 <= self._shown < len(self._drafts):
            return
        draft = self._drafts[self._shown]
        draft.data.update(
            backend=self.backend.currentData(),
            base_url=self.server_url.text().strip(),
            model=self.server_model.text().strip(),
            ca_file=self.ca_file.text().strip() or None,
            read_timeout=self.read_timeout.value(),
        )
        draft.key = self.api_key.text().strip()

    def _show_profile(self, index: int) -> None:
        self._store_shown()
        if not 0 <= index < len(self._drafts):
            return
        self._shown = index
        draft = self._drafts[index]
        data = draft.data
        self.backend.setCurrentIndex(1 if data["backend"] == "remote" else 0)
        self.server_url.setText(data["base_url"])
        self.server_model.setText(data["model"])
        self.ca_file.setText(data.get("ca_file") or "")
        self.read_timeout.setValue(float(data.get("read_timeout") or 120.0))
        self.api_key.setText(draft.key)
        self._update_key_hint()
        builtin = data["name"] == LOCAL_PROFILE
        self.backend.setEnabled(not builtin)
        self.rename_button.setEnabled(not builtin)
        self.delete_button.setEnabled(not builtin)
        self._update_server_fields()

    def _update_key_hint(self) -> None:
        """Say whether the profile shown has a saved key; one for another address does not count."""
        if not 0 <= self._shown < len(self._drafts):
            return
        draft = self._drafts[self._shown]
        saved = draft.origin is not None and draft.origin in self._keyed
        url = self.server_url.text().strip()
        if saved and url != draft.origin_url and not same_server(url, draft.origin_url):
            hint = "the saved key stays with the old address: type the key for this one"
        elif saved:
            hint = "saved in the system keyring (type to replace)"
        else:
            hint = "none (stored in the system keyring)"
        self.api_key.setPlaceholderText(hint)

    def _update_server_fields(self) -> None:
        remote = self.backend.currentData() == "remote"
        for field in (self.server_url, self.server_model, self.api_key, self.ca_file, self.read_timeout):
            field.setEnabled(remote)

    def _other_names(self, skip: int | None = None) -> list[str]:
        return [d.data["name"] for i, d in enumerate(self._drafts) if i != skip]

    def _problem(self, message: str | None) -> bool:
        """Show ``message`` under the profile fields (``None`` hides it); ``True`` when there was one."""
        self.profile_error.setText(message or "")
        self.profile_error.setVisible(bool(message))
        return bool(message)

    def add_profile(self, name: str) -> bool:
        """Add a server profile called ``name`` and show it; ``False`` (and a message) for a bad name."""
        try:
            name = check_name(name, self._other_names())
        except ProfileError as err:
            return not self._problem(str(err))
        self._problem(None)
        self._drafts.append(_Draft(ConnectionProfile(name=name).model_dump(), None))
        self.profile.addItem(name)
        self.profile.setCurrentIndex(len(self._drafts) - 1)
        self.server_url.setFocus()
        return True

    def rename_profile(self, name: str) -> bool:
        """Rename the profile shown; its key moves with it when the settings are applied."""
        index = self.profile.currentIndex()
        if self._drafts[index].data["name"] == LOCAL_PROFILE:
            return not self._problem(f"The built-in profile {LOCAL_PROFILE!r} cannot be renamed.")
        try:
            name = check_name(name, self._other_names(skip=index))
        except ProfileError as err:
            return not self._problem(str(err))
        self._problem(None)
        self._drafts[index].data["name"] = name
        self.profile.setItemText(index, name)
        return True

    def delete_profile(self) -> bool:
        """Delete the profile shown (its key goes when the settings are applied) and show the built-in one."""
        index = self.profile.currentIndex()
        if self._drafts[index].data["name"] == LOCAL_PROFILE:
            return not self._problem(f"The built-in profile {LOCAL_PROFILE!r} cannot be deleted.")
        self._problem(None)
        self._shown = -1  # what the fields show is being thrown away
        del self._drafts[index]
        self.profile.removeItem(index)
        builtin = next(i for i, d in enumerate(self._drafts) if d.data["name"] == LOCAL_PROFILE)
        self.profile.setCurrentIndex(builtin)
        self._show_profile(builtin)
        return True

    def _ask_add(self) -> None:
        name, ok = QInputDialog.getText(self, "Add a connection", "Name of the new connection (such as Team vLLM):")
        if ok:
            self.add_profile(name)

    def _ask_rename(self) -> None:
        current = self.profile.currentText()
        name, ok = QInputDialog.getText(self, "Rename the connection", "New name:", text=current)
        if ok and name.strip() != current:
            self.rename_profile(name)

    def key_edits(self) -> KeyEdits:
        """Keys typed in this dialog, by profile name, and where each profile came from (renames)."""
        self._store_shown()
        return KeyEdits(
            entered={d.data["name"]: d.key for d in self._drafts if d.key},
            origins={d.data["name"]: d.origin for d in self._drafts},
        )

    def entered_api_key(self) -> str | None:
        """The key typed for the profile shown (``None``: keep the stored one)."""
        key = self.api_key.text().strip()
        return key or None

    def accept(self) -> None:
        """Close only with profiles that can be used; otherwise say which one is wrong."""
        try:
            check_profiles(self.result_settings().connections)
        except ProfileError as err:
            self._problem(str(err))
            return
        problem = self.tools_page.mcp_problem()
        self.tools_page.problem.setText(problem or "")
        self.tools_page.problem.setVisible(problem is not None)
        if problem is not None:
            self.tabs.setCurrentIndex(self.tabs.count() - 1)  # Tools is the last tab
            return
        super().accept()

    def result_settings(self) -> Settings:
        """The settings as edited (validated by the settings model)."""
        data = self._original.model_dump()
        data["engine"].update(
            threads=_spin_value(self.threads),
            threads_batch=_spin_value(self.threads_batch),
            state_ram_mb=self.state_ram.value(),
            state_disk_mb=self.state_disk.value(),
            context_length=_spin_value(self.context),
            gpu_layers=self.gpu_layers.value(),
            thinking=self.thinking.isChecked(),
            seed=self.seed.value(),
            sampling={
                "temperature": _double_value(self.temperature),
                "top_p": _double_value(self.top_p),
                "top_k": _spin_value(self.top_k),
                "min_p": _double_value(self.min_p),
                "presence_penalty": _double_value(self.presence),
            },
        )
        self._store_shown()
        data["connections"] = {
            "profiles": [d.data for d in self._drafts],
            "active": self._drafts[self.profile.currentIndex()].data["name"],
        }
        data["ui"].update(
            theme=self.theme.currentText(),
            # Untouched means "the system's fixed-width font", not whatever the box showed.
            editor_font_family=(
                self._original.ui.editor_font_family
                if self.editor_font.currentText() == self._font_shown
                else self.editor_font.currentText()
            ),
            editor_font_size=self.font_size.value(),
        )
        if self.project_root is not None:
            python = self.project_python.text().strip() or None
            data.setdefault("projects", {})[project_key(self.project_root)] = {"python": python}
        data["models_dir"] = self.models_dir.text().strip() or None
        data["models"]["offline"] = self.offline.isChecked()
        data["completion"].update(
            model=self.completion_model.text().strip() or None,
            debounce_ms=self.completion_debounce.value(),
            max_tokens=self.completion_tokens.value(),
            max_lines=self.completion_lines.value(),
        )
        data["refs"] = {
            "enabled": self.refs_enabled.isChecked(),
            "confirm_matches": self.refs_confirm.isChecked(),
            "min_tokens": self.refs_min_tokens.value(),
            "folders": [line.strip() for line in self.refs_folders.toPlainText().splitlines() if line.strip()],
        }
        data["agent"] = {**data["agent"], **self.tools_page.agent_values()}
        for plugin_id, widgets in self.plugin_options.items():
            data["plugins"][plugin_id] = {
                **data["plugins"].get(plugin_id, {}),
                **{key: _option_value(widget) for key, widget in widgets.items()},
            }
        return Settings.model_validate(data)
