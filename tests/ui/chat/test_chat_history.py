"""Conversations: reopen, rename, delete, search; settings dialog."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from app.core.settings import Settings
from app.ui.shell.main_window import MainWindow
from app.ui.shell.settings_dialog import SettingsDialog
from tests.ui.conftest import js

MakeWindow = Callable[[], MainWindow]


def _seed_store(window: MainWindow) -> tuple[int, int]:
    store = window.chat.store
    first = store.create("Prime numbers")
    store.add_message(first, "user", "Is 7 prime?")
    store.add_message(first, "assistant", "Yes, **7** is prime.", thinking="7 has no divisors")
    second = store.create("Integrals")
    store.add_message(second, "user", "Integrate x")
    store.add_message(second, "assistant", "$\\frac{x^2}{2}$ so far", complete=False)
    return first, second


def test_reopened_conversation_shows_its_messages(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    first, second = _seed_store(window)
    window.chat.open_conversation(second)
    qtbot.waitUntil(lambda: js(qtbot, window, "document.querySelectorAll('.msg').length") == 2)
    note = js(qtbot, window, "document.querySelector('.msg.assistant .note').textContent")
    assert isinstance(note, str) and note.startswith("Incomplete")
    window.chat.open_conversation(first)
    qtbot.waitUntil(lambda: "7 has no divisors" in str(js(qtbot, window, "document.body.textContent")))


def test_history_search_rename_delete(make_window: MakeWindow, qtbot: QtBot) -> None:
    window = make_window()
    first, second = _seed_store(window)
    page = window.chat.history
    window.chat.show_history()
    assert page.list.count() == 2
    page.search.setText("prime")
    assert page.list.count() == 1
    page.ask_title = lambda parent, current: "Primes, renamed"
    page._rename()
    assert window.chat.store.list()[0].title in ("Primes, renamed", "Integrals")
    assert any(s.title == "Primes, renamed" for s in window.chat.store.list())
    page.search.setText("")
    window.chat.open_conversation(first)
    window.chat.show_history()
    page.confirm_delete = lambda parent, title: True
    row = next(i for i in range(page.list.count()) if "Primes" in page.list.item(i).text())
    page.list.setCurrentRow(row)
    page._delete()
    assert [s.id for s in window.chat.store.list()] == [second]
    assert window.chat.conversation_id is None  # the open chat was the one deleted


def test_settings_dialog_round_trip(qtbot: QtBot) -> None:
    settings = Settings()
    settings.engine.sampling.temperature = 0.4
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.result_settings() == settings
    dialog.threads.setValue(3)
    dialog.presence.setValue(1.0)
    dialog.theme.setCurrentText("dark")
    changed = dialog.result_settings()
    assert changed.engine.threads == 3 and changed.engine.sampling.presence_penalty == 1.0
    assert changed.ui.theme == "dark" and changed.engine.sampling.temperature == 0.4
