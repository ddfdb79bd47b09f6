"""Plugin-layer fixtures: a manager with a scripted model, and the sample
third-party distribution on a temporary ``sys.path`` entry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.state import PluginStateStore
from tests.fixtures.sample_plugin import forget_sample_modules, install_sample
from tests.fixtures.scripted_model import ScriptedModel


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty directory on ``sys.path`` where tests "install" distributions."""
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    yield folder
    forget_sample_modules()


@pytest.fixture
def sample_site(site: Path) -> Path:
    """``site`` with the sample plugin distribution installed."""
    install_sample(site)
    return site


@pytest.fixture
def notifier() -> ListNotifier:
    return ListNotifier()


@pytest.fixture
def model() -> ScriptedModel:
    return ScriptedModel(["a scripted answer"] * 5)


@pytest.fixture
def store(tmp_path: Path) -> PluginStateStore:
    return PluginStateStore(tmp_path / "config" / "plugins.json")


@pytest.fixture
def manager(notifier: ListNotifier, model: ScriptedModel, store: PluginStateStore) -> PluginManager:
    return PluginManager(PluginHost(notifier=notifier, model=model), store)
