"""The settings dialog: where replies come from, engine, sampling, appearance, models."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFontComboBox,
    QFormLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.core.engine.options import physical_cores
from app.core.settings import Settings


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


class SettingsDialog(QDialog):
    """Edits a copy of the settings; ``result_settings()`` gives the new ones."""

    def __init__(self, settings: Settings, parent: QWidget | None = None, *, has_key: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._original = settings
        engine, sampling, ui = settings.engine, settings.engine.sampling, settings.ui
        server_box = self._build_server_box(settings, has_key)

        self.threads = _optional_spin(1, 256, engine.threads, f"automatic ({physical_cores()} cores)")
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
        engine_form.addRow("CPU threads:", self.threads)
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
        self.font = QFontComboBox()
        self.font.setFontFilters(QFontComboBox.FontFilter.MonospacedFonts)
        if ui.editor_font_family:
            self.font.setCurrentText(ui.editor_font_family)
        self._font_shown = self.font.currentText()
        self.font_size = QSpinBox()
        self.font_size.setRange(6, 72)
        self.font_size.setValue(ui.editor_font_size)
        look_box = QGroupBox("Appearance")
        look_form = QFormLayout(look_box)
        look_form.addRow("Theme:", self.theme)
        look_form.addRow("Editor font:", self.font)
        look_form.addRow("Editor font size:", self.font_size)

        self.models_dir = QLineEdit(settings.models_dir or "")
        self.models_dir.setPlaceholderText("default: the models folder in the app's data folder")
        self.offline = QCheckBox("Work offline: never use the network (downloads are refused)")
        self.offline.setChecked(settings.models.offline)
        models_box = QGroupBox("Models")
        models_form = QFormLayout(models_box)
        models_form.addRow("Models folder:", self.models_dir)
        models_form.addRow(self.offline)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (server_box, engine_box, sampling_box, look_box, models_box, buttons):
            layout.addWidget(widget)

    def _build_server_box(self, settings: Settings, has_key: bool) -> QGroupBox:
        remote = settings.remote
        self.backend = QComboBox()
        self.backend.addItem("This computer (a GGUF model file)", "local")
        self.backend.addItem("A model server (OpenAI-compatible: vLLM, llama-server, Ollama, LM Studio)", "remote")
        self.backend.setCurrentIndex(1 if remote.backend == "remote" else 0)
        self.server_url = QLineEdit(remote.base_url)
        self.server_url.setPlaceholderText("http://127.0.0.1:8080/v1")
        self.server_model = QLineEdit(remote.model)
        self.server_model.setPlaceholderText("empty: the server's first model")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText(
            "saved in the system keyring (type to replace)" if has_key else "none (stored in the system keyring)"
        )
        box = QGroupBox("Where replies come from")
        form = QFormLayout(box)
        form.addRow("Run the model on:", self.backend)
        form.addRow("Server address:", self.server_url)
        form.addRow("Model name:", self.server_model)
        form.addRow("API key:", self.api_key)
        self.backend.currentIndexChanged.connect(self._update_server_fields)
        self._update_server_fields()
        return box

    def _update_server_fields(self) -> None:
        remote = self.backend.currentData() == "remote"
        for field in (self.server_url, self.server_model, self.api_key):
            field.setEnabled(remote)

    def entered_api_key(self) -> str | None:
        """A key typed in this dialog (``None``: keep the stored one)."""
        key = self.api_key.text().strip()
        return key or None

    def result_settings(self) -> Settings:
        """The settings as edited (validated by the settings model)."""
        data = self._original.model_dump()
        data["engine"].update(
            threads=_spin_value(self.threads),
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
        data["remote"].update(
            backend=self.backend.currentData(),
            base_url=self.server_url.text().strip(),
            model=self.server_model.text().strip(),
        )
        data["ui"].update(
            theme=self.theme.currentText(),
            # Untouched means "the system's fixed-width font", not whatever the box showed.
            editor_font_family=(
                self._original.ui.editor_font_family
                if self.font.currentText() == self._font_shown
                else self.font.currentText()
            ),
            editor_font_size=self.font_size.value(),
        )
        data["models_dir"] = self.models_dir.text().strip() or None
        data["models"]["offline"] = self.offline.isChecked()
        return Settings.model_validate(data)
