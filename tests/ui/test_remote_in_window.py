"""The window with a model server: llama-cpp-python's real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.bench.llama_server import LlamaServer
from app.core.paths import app_paths
from app.core.remote.profiles import KeyEdits
from app.core.settings import LOCAL_PROFILE, ConnectionProfile, Settings
from app.ui.main_window import MainWindow
from app.ui.settings_dialog import SettingsDialog
from tests.fixtures.memory_keyring import MemoryKeyring
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]
KEY = "gui-test-key"


@pytest.fixture
def server(qwen3_gguf: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    MemoryKeyring.store.clear()
    llama = LlamaServer(qwen3_gguf, alias="tiny-qwen3", api_key=KEY, log_path=tmp_path / "server.log")
    try:
        yield llama.start()
    finally:
        llama.stop()
        MemoryKeyring.store.clear()


SERVER = "Tiny server"


def use_server(window: MainWindow, url: str, key: str | None) -> None:
    """Save (or update) the profile "Tiny server" at ``url`` with ``key`` and make it active."""
    settings = window.settings.model_copy(deep=True)
    connections = settings.connections
    connections.profiles = [p for p in connections.profiles if p.name != SERVER]
    connections.profiles.append(ConnectionProfile(name=SERVER, base_url=url))
    connections.active = SERVER
    window.apply_settings(settings, KeyEdits(entered={SERVER: key} if key else {}))


def test_chat_with_a_model_server(make_window: MakeWindow, qtbot: QtBot, server: LlamaServer) -> None:
    window = make_window()
    use_server(window, server.base_url, KEY)
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=30_000)
    assert window.model_label.text() == f"tiny-qwen3 @ 127.0.0.1:{server.port}"
    assert window.banner.isVisible() and "Model server: <b>tiny-qwen3</b>" in window.banner.text.text()
    assert server.base_url in window.banner.text.text()
    assert window.plugins.host.model is not None and window.plugins.host.model.ready()  # plugins may ask it too
    # The key went to the (test) keyring, never to the settings file.
    assert KEY in MemoryKeyring.store.values()
    window.save_settings()
    assert KEY not in app_paths().settings_file.read_text(encoding="utf-8")

    # Stop mid-reply keeps the partial answer, as with the local engine.
    window.chat.request_overrides = {"max_tokens": 200, "ignore_eos": True}
    window.chat.ask("write a lot")
    message_id = window.chat._reply.message_id  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: bool(window.chat._reply and window.chat._reply.answer), timeout=30_000)
    window.chat.stop()
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=10_000)
    stored = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert stored.id == message_id and stored.content and not stored.complete
    assert js(qtbot, window, f"document.querySelector('#m{message_id} .note').textContent") == "Stopped."

    # A whole reply in a new conversation.
    window.chat.new_chat()
    window.chat.request_overrides = {"max_tokens": 20}
    window.chat.ask("hi")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    answer = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert answer.role == "assistant" and answer.content and answer.complete
    assert "tok/s" in window.speed_label.text()

    # The server dies: the next reply ends with a readable message, not a hang.
    server.kill()
    window.chat.request_overrides = {"max_tokens": 8}
    window.chat.ask("anyone there?")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=30_000)
    qtbot.waitUntil(lambda: "connection was refused" in str(js(qtbot, window, "document.body.innerText")))

    # Back to this computer: the server is let go.
    local = window.settings.model_copy(deep=True)
    local.connections.active = LOCAL_PROFILE
    window.apply_settings(local)
    qtbot.waitUntil(lambda: not window.chat.model_ready)
    assert window.model_label.text() == "No model" and not window.banner.isVisible()


def test_a_wrong_key_is_shown_in_the_banner(make_window: MakeWindow, qtbot: QtBot, server: LlamaServer) -> None:
    window = make_window()
    use_server(window, server.base_url, "not-it")
    qtbot.waitUntil(lambda: "refused the API key" in window.banner.text.text(), timeout=30_000)
    assert not window.chat.model_ready and "not-it" not in window.banner.text.text()
    use_server(window, server.base_url, KEY)  # a corrected key connects
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=30_000)


def test_settings_dialog_local_or_server(qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings()
    settings.connections.profiles.append(ConnectionProfile(name="Box", backend="local"))
    dialog = SettingsDialog(settings, keyed={"Box"})
    qtbot.addWidget(dialog)
    assert not dialog.server_url.isEnabled() and not dialog.api_key.isEnabled()
    assert not dialog.backend.isEnabled()  # the built-in profile is always this computer
    dialog.profile.setCurrentText("Box")
    dialog.backend.setCurrentIndex(1)
    assert dialog.server_url.isEnabled() and dialog.api_key.isEnabled()
    assert "saved in the system keyring" in dialog.api_key.placeholderText()
    dialog.server_url.setText(" http://127.0.0.1:8000/v1 ")
    dialog.server_model.setText("Qwen/Qwen3-8B")
    assert dialog.entered_api_key() is None  # untouched: keep the stored key
    dialog.api_key.setText("sk-new")
    result = dialog.result_settings()
    box = result.connections.current
    assert (box.name, box.backend, box.base_url, box.model) == (
        "Box",
        "remote",
        "http://127.0.0.1:8000/v1",
        "Qwen/Qwen3-8B",
    )
    assert dialog.entered_api_key() == "sk-new" and "sk-new" not in result.model_dump_json()
    assert dialog.key_edits().entered == {"Box": "sk-new"}
    dialog.grab().save(str(tmp_path / "settings.png"))
