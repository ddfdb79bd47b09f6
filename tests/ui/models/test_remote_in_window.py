"""The window with a model server: llama-cpp-python's real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.bench.llama_server import LlamaServer
from app.core.paths import app_paths
from app.core.remote.keys import KeyStore
from app.core.remote.profiles import KeyEdits
from app.core.settings import (
    LOCAL_PROFILE,
    ConnectionProfile,
    ConnectionSettings,
    Settings,
    load_settings,
    save_settings,
)
from app.ui.shell.main_window import MainWindow
from app.ui.shell.settings_dialog import SettingsDialog
from tests.fixtures.memory_keyring import MemoryKeyring
from tests.ui.conftest import js, load_model

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
    assert dialog.read_timeout.isEnabled() and dialog.read_timeout.value() == 120
    dialog.read_timeout.setValue(600)  # a big model thinking silently on a busy server
    assert dialog.entered_api_key() is None  # untouched: keep the stored key
    dialog.api_key.setText("sk-new")
    result = dialog.result_settings()
    box = result.connections.current
    assert (box.name, box.backend, box.base_url, box.model, box.read_timeout) == (
        "Box",
        "remote",
        "http://127.0.0.1:8000/v1",
        "Qwen/Qwen3-8B",
        600,
    )
    assert dialog.entered_api_key() == "sk-new" and "sk-new" not in result.model_dump_json()
    assert dialog.key_edits().entered == {"Box": "sk-new"}
    dialog.grab().save(str(tmp_path / "settings.png"))


def last_reply(window: MainWindow) -> str:
    answer = window.chat.store.messages(window.chat.conversation_id)[-1]  # type: ignore[arg-type]
    assert answer.role == "assistant" and answer.complete
    return answer.content


def test_switching_between_this_computer_and_a_server_profile(
    make_window: MakeWindow, qtbot: QtBot, server: LlamaServer, qwen3_gguf: Path, tmp_path: Path
) -> None:
    # Saved before the window opens: the server profile is active, its key in the keyring.
    paths = app_paths()
    profiles = [
        ConnectionProfile(name=LOCAL_PROFILE, backend="local"),
        ConnectionProfile(name=SERVER, base_url=server.base_url),
    ]
    save_settings(paths, Settings(connections=ConnectionSettings(profiles=profiles, active=SERVER)))
    KeyStore().set_profile(SERVER, server.base_url, KEY)
    window = make_window()
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=30_000)  # connected at startup
    server_label = f"tiny-qwen3 @ 127.0.0.1:{server.port}"
    assert window.model_label.text() == server_label
    combo = window.switcher.combo
    assert [combo.itemText(i) for i in range(combo.count())] == [LOCAL_PROFILE, SERVER]
    assert combo.currentText() == SERVER
    menu = {action.text(): action for action in window.switcher.menu.actions()}
    assert list(menu) == [LOCAL_PROFILE, SERVER] and menu[SERVER].isChecked()

    # One action (the menu) returns to this computer: the server is let go, the choice is saved.
    menu[LOCAL_PROFILE].trigger()
    qtbot.waitUntil(lambda: not window.chat.model_ready)
    assert window.model_label.text() == "No model" and not window.banner.isVisible()
    owner = window.bridge.owner  # who writes replies
    qtbot.waitUntil(lambda: owner.remote is None and owner.backend is owner.engine)
    assert combo.currentText() == LOCAL_PROFILE
    assert load_settings(paths).settings.connections.active == LOCAL_PROFILE
    window.switcher.combo.grab().save(str(tmp_path / "switcher.png"))

    # A local model answers.
    load_model(qtbot, window, qwen3_gguf)
    assert window.model_label.text() != server_label
    # Random weights: a fixed seed and no thinking, so the 8 tokens are an answer, not all thinking.
    window.chat.request_overrides = {"max_tokens": 8, "seed": 3}
    window.chat.thinking.setChecked(False)
    window.chat.ask("hi")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert last_reply(window)
    assert owner.backend is owner.engine

    # One action (the status-bar combo) goes back to the server, with the profile's key.
    combo.activated.emit(combo.findText(SERVER))
    qtbot.waitUntil(lambda: window.model_label.text() == server_label, timeout=30_000)
    assert window.chat.model_ready and owner.remote is not None and owner.backend is owner.remote
    assert [a.isChecked() for a in window.switcher.menu.actions()] == [False, True]
    window.chat.new_chat()
    window.chat.ask("hello server")
    qtbot.waitUntil(lambda: not window.chat.busy, timeout=60_000)
    assert last_reply(window)
    assert load_settings(paths).settings.connections.active == SERVER
    assert KEY not in paths.settings_file.read_text(encoding="utf-8")


def test_settings_dialog_adds_renames_and_deletes_profiles(
    make_window: MakeWindow, qtbot: QtBot, server: LlamaServer, tmp_path: Path
) -> None:
    window = make_window()
    dialog = SettingsDialog(window.settings, window, keyed=window.remote.keyed_profiles())
    qtbot.addWidget(dialog)
    assert not dialog.delete_button.isEnabled() and not dialog.rename_button.isEnabled()
    assert not dialog.delete_profile() and "cannot be deleted" in dialog.profile_error.text()
    assert not dialog.add_profile("this computer") and "already a connection profile" in dialog.profile_error.text()
    assert dialog.add_profile("Team")
    assert not dialog.profile_error.isVisible() and dialog.profile.currentText() == "Team"
    assert dialog.backend.currentData() == "remote" and dialog.server_url.isEnabled()
    dialog.accept()  # no address yet: the dialog stays open and says why
    assert dialog.result() == 0 and "The profile 'Team' has no server address" in dialog.profile_error.text()
    dialog.server_url.setText(server.base_url)
    dialog.api_key.setText(KEY)
    assert dialog.add_profile("Spare")
    dialog.server_url.setText("http://127.0.0.1:9/v1")
    dialog.profile.setCurrentText("Team")  # the fields show Team's values again
    assert dialog.server_url.text() == server.base_url and dialog.api_key.text() == KEY
    assert dialog.rename_profile("Team vLLM") and dialog.profile.currentText() == "Team vLLM"
    assert not dialog.rename_profile("spare") and "already a connection profile named 'spare'" in (
        dialog.profile_error.text()
    )
    dialog.grab().save(str(tmp_path / "settings-profiles.png"))
    window.apply_settings(dialog.result_settings(), dialog.key_edits())
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=30_000)
    assert window.settings.connections.active == "Team vLLM"
    assert [window.switcher.combo.itemText(i) for i in range(3)] == [LOCAL_PROFILE, "Team vLLM", "Spare"]
    assert window.remote.keyed_profiles() == {"Team vLLM"}

    # Rename again and delete the spare one: the key follows the rename.
    again = SettingsDialog(window.settings, window, keyed=window.remote.keyed_profiles())
    qtbot.addWidget(again)
    assert "saved in the system keyring" in again.api_key.placeholderText() and again.api_key.text() == ""
    again.server_url.setText("http://127.0.0.1:9/v1")  # another server: the saved key will not follow
    assert "stays with the old address" in again.api_key.placeholderText()
    again.server_url.setText(server.base_url.removesuffix("/v1"))  # the same API root, written shorter
    assert "saved in the system keyring" in again.api_key.placeholderText()
    assert again.rename_profile("GPU")
    again.profile.setCurrentText("Spare")
    assert again.delete_profile() and again.profile.currentText() == LOCAL_PROFILE
    again.profile.setCurrentText("GPU")
    window.apply_settings(again.result_settings(), again.key_edits())
    qtbot.waitUntil(lambda: window.chat.model_ready, timeout=30_000)
    assert [p.name for p in window.settings.connections.profiles] == [LOCAL_PROFILE, "GPU"]
    assert list(MemoryKeyring.store.values()) == [KEY]
    assert window.remote.keyed_profiles() == {"GPU"}
