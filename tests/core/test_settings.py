"""Settings: defaults, round trip, validation, migration, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core import settings as settings_mod
from app.core.paths import AppPaths, app_paths
from app.core.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


@pytest.fixture
def paths(isolated_home: Path) -> AppPaths:
    return app_paths()


def test_paths_follow_quillpad_home(isolated_home: Path) -> None:
    paths = app_paths()
    assert paths.config_dir == isolated_home / "config"
    assert paths.data_dir == isolated_home / "data"
    assert paths.log_file.parent.parent == paths.data_dir


def test_specific_overrides_win(tmp_path: Path) -> None:
    env = {"QUILLPAD_HOME": str(tmp_path / "h"), "QUILLPAD_DATA_DIR": str(tmp_path / "d")}
    paths = app_paths(env)
    assert paths.data_dir == tmp_path / "d" and paths.config_dir == tmp_path / "h" / "config"


def test_platform_dirs_without_env() -> None:
    paths = app_paths({})
    assert "quillpad" in str(paths.config_dir).lower()


def test_missing_file_gives_defaults(paths: AppPaths) -> None:
    loaded = load_settings(paths)
    assert loaded.settings == Settings() and loaded.notice is None
    assert not paths.settings_file.exists()  # reading never writes


def test_round_trip(paths: AppPaths) -> None:
    s = Settings()
    s.engine.context_length = 16384
    s.ui.theme = "dark"
    s.recent_models.append("/models/qwen3-8b.gguf")
    save_settings(paths, s)
    assert load_settings(paths).settings == s
    assert json.loads(paths.settings_file.read_text())["schema_version"] == SCHEMA_VERSION
    assert [p.name for p in paths.config_dir.iterdir()] == ["settings.json"]  # no temp files left


def test_invalid_values_are_rejected_on_assignment() -> None:
    s = Settings()
    with pytest.raises(ValidationError):
        s.engine.context_length = 0
    with pytest.raises(ValidationError):
        s.ui.theme = "purple"  # type: ignore[assignment]


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"engine": {"context_length": -5}}', '{"schema_version": "x"}']
)
def test_damaged_file_is_kept_aside_with_a_notice(paths: AppPaths, content: str) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text(content)
    loaded = load_settings(paths)
    assert loaded.settings == Settings()
    assert loaded.notice and "settings.json.broken" in loaded.notice
    assert (paths.config_dir / "settings.json.broken").read_text() == content


def test_newer_schema_is_left_untouched(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"schema_version": 99}')
    loaded = load_settings(paths)
    assert loaded.read_only and loaded.notice and "newer" in loaded.notice
    assert paths.settings_file.read_text() == '{"schema_version": 99}'


def test_migrations_run_in_order(paths: AppPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    def v1_to_v2(data: dict) -> dict:  # type: ignore[type-arg]
        data.setdefault("ui", {})["theme"] = "dark"
        return data

    monkeypatch.setattr(settings_mod, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(settings_mod.MIGRATIONS, 1, v1_to_v2)
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"schema_version": 1}')
    assert load_settings(paths).settings.ui.theme == "dark"


def test_unknown_keys_are_ignored(paths: AppPaths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.settings_file.write_text('{"schema_version": 1, "gone_option": true, "engine": {"threads": 4}}')
    assert load_settings(paths).settings.engine.threads == 4
