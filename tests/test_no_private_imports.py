"""No code in app/ or plugins/ imports a private name or module of a third-party package.

ruff's SLF001 (pyproject) catches ``obj._name``; its rule for imports (PLC2701) is
preview-only, so this walks the sources instead. Our own packages may import their
own private names; the standard library is not checked.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"app", "plugins"}


def _private(part: str) -> bool:
    return part.startswith("_") and not (part.startswith("__") and part.endswith("__"))


def private_imports(source: str, filename: str = "<source>") -> list[str]:
    """``file:line: what`` for each import of a third-party private module or name in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue  # relative imports are our own
        for module in modules:
            top, *rest = module.split(".")
            if top in OWN or top in sys.stdlib_module_names:
                continue
            what = [f"module {module}"] if any(_private(part) for part in [top, *rest]) else []
            what += [f"{name} from {module}" for name in names if _private(name)]
            found += [f"{filename}:{node.lineno}: {item}" for item in what]
    return found


def test_the_checker_finds_each_kind_of_private_import() -> None:
    source = (
        "import os._x\n"  # standard library: not checked
        "from app.core import _own\n"  # ours
        "from . import _relative\n"
        "from pygments.token import Token, _TokenType\n"
        "import llama_cpp._ggml\n"
        "from llama_cpp._ggml import libggml\n"
        "from junitparser import __version__\n"  # dunder: public
        "def f():\n    from watchdog.observers import _inotify\n"
    )
    assert private_imports(source, "x.py") == [
        "x.py:4: _TokenType from pygments.token",
        "x.py:5: module llama_cpp._ggml",
        "x.py:6: module llama_cpp._ggml",
        "x.py:9: _inotify from watchdog.observers",
    ]


def test_app_and_plugins_import_no_private_name_of_a_library() -> None:
    files = sorted(path for package in OWN for path in (ROOT / package).rglob("*.py"))
    assert len(files) > 100  # the walk found the sources
    found = [hit for path in files for hit in private_imports(path.read_text("utf-8"), str(path.relative_to(ROOT)))]
    assert found == []
