"""plugins.json: saved atomically, a damaged file set aside with a notice."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.paths import app_paths
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.state import PluginStateStore


def test_round_trip(tmp_path: Path) -> None:
    store = PluginStateStore(tmp_path / "plugins.json")
    store.set_disabled("b", True)
    store.section("a").set("width", 80)
    data = json.loads((tmp_path / "plugins.json").read_text())
    assert data == {"schema_version": 1, "disabled": ["b"], "sections": {"a": {"width": 80}}}
    again = PluginStateStore(tmp_path / "plugins.json")
    assert again.state.disabled == {"b"} and again.section("a").get("width") == 80


def test_damaged_file_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "plugins.json"
    path.write_text('{"disabled": "everything"}')
    notifier = ListNotifier()
    manager = PluginManager(PluginHost(notifier=notifier), PluginStateStore(path))
    assert manager.store.state.disabled == set()
    assert (tmp_path / "plugins.json.broken").exists() and "could not be read" in notifier.messages[0]


def test_for_app_uses_the_config_folder(isolated_home: Path) -> None:
    store = PluginStateStore.for_app(app_paths())
    assert store.path == app_paths().config_dir / "plugins.json"
