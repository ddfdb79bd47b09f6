"""The banner measures GPU memory off the GUI thread, once per cache window, and shows the fit when it arrives."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.gguf_info import inspect_model
from app.ui.models.banner import ModelBanner
from tests.fixtures.fake_nvidia_smi import FakeNvidiaSmi, fake_nvidia_smi  # noqa: F401


def test_banner_updates_share_one_background_probe(
    qtbot: QtBot,
    qwen3_gguf: Path,
    fake_nvidia_smi: FakeNvidiaSmi,  # noqa: F811
) -> None:
    fake_nvidia_smi.install("8192, 6000\n16384, 1000\n", delay=0.5)  # slow enough to be seen waiting
    info = inspect_model(qwen3_gguf, check_loadable=False)
    banner = ModelBanner()
    qtbot.addWidget(banner)
    banner.show_model(info, None)
    # The GUI thread did not wait for nvidia-smi: the facts are there, the fit is on its way.
    assert "measuring this computer's memory" in banner.text.text() and banner.load_button.isVisible()
    banner.show_model(info, 4096)
    banner.show_model(info, 2048)
    qtbot.waitUntil(lambda: "Proposed:" in banner.text.text(), timeout=30_000)
    assert ">fits</b>" in banner.text.text() and "2,048 tokens" in banner.text.text()
    for context in (None, 8192, 4096):  # cached now: shown at once
        banner.show_model(info, context)
        assert "Proposed:" in banner.text.text()
    assert fake_nvidia_smi.runs == 1
    banner.tasks.shutdown()


def test_a_result_arriving_after_loading_began_does_not_bring_the_offer_back(
    qtbot: QtBot,
    qwen3_gguf: Path,
    fake_nvidia_smi: FakeNvidiaSmi,  # noqa: F811
) -> None:
    fake_nvidia_smi.install("garbage\n", delay=0.5)
    info = inspect_model(qwen3_gguf, check_loadable=False)
    banner = ModelBanner()
    qtbot.addWidget(banner)
    banner.show_model(info, None)
    banner.show_loading(info.display_name)
    qtbot.waitUntil(lambda: not banner.tasks.busy, timeout=30_000)
    assert banner.text.text().startswith("Loading") and not banner.load_button.isVisible()
    banner.tasks.shutdown()
