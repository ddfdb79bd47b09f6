"""Discovery through real entry points, failure isolation, and turning plugins off."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from app.core.chat.commands import run_command
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.records import PluginError
from app.core.plugins.state import PluginStateStore
from tests.fixtures.sample_plugin import install_distribution

BROKEN = "quillpad_sample_plugin.broken"


def test_entry_points_are_discovered(sample_site: Path, manager: PluginManager) -> None:
    manager.discover()
    ids = [record.id for record in manager.records()]
    assert ids[0] == "agenttools"  # built-ins first (by name), declared in quillpad's own pyproject
    assert "sample" in ids
    sample = manager.record("sample")
    assert sample.state == "enabled" and sample.info is not None and sample.info.version == "0.3.0"
    assert sample.source.startswith("quillpad-sample-plugin 0.3.0 (entry point quillpad_sample_plugin:plugin")
    assert sample.commands == ("shout", "haiku") and sample.actions == ("sample.count",)
    assert manager.record("codegen").source.startswith("built in")
    manager.discover()  # again: nothing new, no complaint about duplicates
    assert [record.id for record in manager.records()] == ids
    assert not manager.host.notifier.messages  # type: ignore[attr-defined]


def test_third_party_command_works_in_the_chat(sample_site: Path, manager: PluginManager) -> None:
    manager.discover()
    assert run_command(manager, "/shout hello there").messages == ["HELLO THERE!"]
    outcome = run_command(manager, "/haiku autumn")
    assert outcome.answers == ["a scripted answer"]
    assert outcome.messages[-1] == "Haiku #1:\na scripted answer"
    assert manager.host.model.requests[-1][1].max_tokens == 40  # type: ignore[union-attr]
    assert run_command(manager, "/haiku rain").messages[-1].startswith("Haiku #2")  # its settings persist
    assert "/shout" in manager.help() and "/haiku" in manager.help()


def test_failures_are_isolated(site: Path, sample_site: Path, manager: PluginManager, notifier: ListNotifier) -> None:
    install_distribution(
        site,
        "quillpad-broken-plugins",
        "1.0",
        {
            "fails_on_import": "quillpad_sample_plugin.fails_on_import:plugin",
            "raises_in_hook": f"{BROKEN}:raises_in_hook",
            "no_info": f"{BROKEN}:no_info",
            "unknown_hook": f"{BROKEN}:unknown_hook",
            "wrong_return": f"{BROKEN}:wrong_return",
            "missing_object": f"{BROKEN}:does_not_exist",
        },
    )
    manager.discover()
    states = {record.id: (record.state, record.error) for record in manager.records()}
    assert states["codegen"] == ("enabled", None) and states["sample"] == ("enabled", None)
    expected = {
        "fails_on_import": "ImportError: this plugin needs a library",
        "raises_in_hook": "RuntimeError: hook exploded",
        "no_info": "declares no PluginInfo",
        "unknown_hook": "unknown hook 'quillpad_not_a_hook'",
        "wrong_return": "not a list",
        "missing_object": "AttributeError",
    }
    for plugin_id, fragment in expected.items():
        state, error = states[plugin_id]
        assert state == "failed" and error is not None and fragment in error, (plugin_id, error)
    # A visible notice per failure, and the rest carries on.
    assert sum("was turned off" in message for message in notifier.messages) == len(expected)
    assert run_command(manager, "/shout still here").messages == ["STILL HERE!"]


def test_handler_failure_turns_the_plugin_off(
    site: Path, sample_site: Path, manager: PluginManager, notifier: ListNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    install_distribution(site, "quillpad-explode", "1.0", {"explode": f"{BROKEN}:raises_in_handler"})
    manager.discover()
    assert manager.record("explode").state == "enabled"
    with pytest.raises(PluginError, match="failed and was turned off"):
        manager.dispatch("/explode")
    record = manager.record("explode")
    assert record.state == "failed" and "ZeroDivisionError: handler exploded" in (record.error or "")
    assert "explode" not in [entry.command.name for entry in manager.slash_commands()]
    assert any("Broken failed in /explode" in message for message in notifier.messages)
    assert any("plugin explode failed" in r.message and r.exc_info for r in caplog.records)
    assert manager.dispatch("/shout ok").message == "OK!"


def test_disabled_plugins_are_not_imported(sample_site: Path, store: PluginStateStore, notifier: ListNotifier) -> None:
    store.set_disabled("sample", True)
    manager = PluginManager(store=store)
    manager.discover()
    record = manager.record("sample")
    assert record.state == "disabled" and record.info is None
    assert record.summary == "A sample third-party plugin for Quillpad's tests"
    assert "quillpad_sample_plugin" not in sys.modules
    assert "shout" not in [entry.command.name for entry in manager.slash_commands()]


def test_enable_and_disable_at_run_time_are_saved(
    sample_site: Path, manager: PluginManager, store: PluginStateStore
) -> None:
    manager.discover()
    manager.set_enabled("sample", False)
    assert manager.record("sample").state == "disabled"
    assert "shout" not in [completion.name for completion in manager.complete("/sh")]
    with pytest.raises(Exception, match="no command /shout"):
        manager.dispatch("/shout x")
    assert PluginStateStore(store.path).state.disabled == {"sample"}
    manager.set_enabled("sample", True)
    assert manager.record("sample").state == "enabled" and manager.dispatch("/shout x").message == "X!"
    assert PluginStateStore(store.path).state.disabled == set()
    with pytest.raises(PluginError, match="no plugin called nope"):
        manager.set_enabled("nope", True)


def test_duplicate_names_keep_the_first(site: Path, sample_site: Path, manager: PluginManager) -> None:
    install_distribution(site, "quillpad-impostor", "9.9", {"sample": f"{BROKEN}:raises_in_handler"})
    manager.discover()
    assert manager.record("sample").source.startswith(("quillpad-sample-plugin", "quillpad-impostor"))
    assert any("Two plugins are called sample" in m for m in manager.host.notifier.messages)  # type: ignore[attr-defined]


def test_in_memory_entry_points_use_the_same_path(manager: PluginManager, sample_site: Path) -> None:
    entry_point = importlib.metadata.EntryPoint("mem", "quillpad_sample_plugin:plugin", "quillpad.plugins")
    manager.discover([entry_point, entry_point])
    assert [record.id for record in manager.records()] == ["mem"]
    assert manager.record("mem").source == "entry point quillpad_sample_plugin:plugin"
