"""Where Quillpad keeps its files: config, data (logs, drafts, chats), cache.

Platform folders come from platformdirs. ``QUILLPAD_HOME`` puts all of them
under one folder (tests, portable installs); ``QUILLPAD_CONFIG_DIR`` and
``QUILLPAD_DATA_DIR`` move one of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "Quillpad"
ENV_HOME = "QUILLPAD_HOME"
ENV_CONFIG_DIR = "QUILLPAD_CONFIG_DIR"
ENV_DATA_DIR = "QUILLPAD_DATA_DIR"


@dataclass(frozen=True)
class AppPaths:
    """The folders the app writes to. Nothing is created until asked."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "quillpad.log"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


def app_paths(env: Mapping[str, str] | None = None) -> AppPaths:
    """Resolve the app's folders from the environment and the platform."""
    env = os.environ if env is None else env
    home = env.get(ENV_HOME)
    if home:
        base = Path(home).expanduser()
        config, data, cache = base / "config", base / "data", base / "cache"
    else:
        config = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
        data = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        cache = Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    if env.get(ENV_CONFIG_DIR):
        config = Path(env[ENV_CONFIG_DIR]).expanduser()
    if env.get(ENV_DATA_DIR):
        data = Path(env[ENV_DATA_DIR]).expanduser()
    return AppPaths(config_dir=config, data_dir=data, cache_dir=cache)
