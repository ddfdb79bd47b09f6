"""Helpers for the desktop-binary tests: the build script, loaded from its file."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"


@pytest.fixture(scope="session")
def build_script() -> ModuleType:
    """``packaging/build.py`` as a module (``packaging`` is not a package: the name is taken on PyPI)."""
    spec = importlib.util.spec_from_file_location("quillpad_build_script", PACKAGING / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
