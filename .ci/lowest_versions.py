"""The lowest versions pyproject.toml allows for some dependencies, for CI's second watcher test run.

``python .ci/lowest_versions.py NAME...`` prints ``NAME==LOWEST`` for each (from its ``>=`` bound);
``python .ci/lowest_versions.py --check NAME==VERSION...`` fails unless those exact versions are imported.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import version
from pathlib import Path

from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - CI runs 3.11
    import tomli as tomllib


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lowest(names: list[str]) -> list[str]:
    """``name==version`` for the ``>=`` bound of each named dependency."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    dependencies = [*project["dependencies"], *(d for group in extras.values() for d in group)]
    found = {}
    for dependency in dependencies:
        match = re.match(r"\s*([A-Za-z0-9_.-]+)\s*(?:\[[^]]*\])?\s*[^;]*?>=\s*([0-9][0-9A-Za-z.]*)", dependency)
        if match:
            found[_canonical(match[1])] = f"{match[1]}=={match[2]}"
    missing = [name for name in names if _canonical(name) not in found]
    if missing:
        raise SystemExit(f"no lower bound in pyproject.toml for {', '.join(missing)}")
    return [found[_canonical(name)] for name in names]


def check(pins: list[str]) -> None:
    """Exit non-zero unless each ``name==version`` is the version Python imports now."""
    for pin in pins:
        name, wanted = pin.split("==")
        have = version(name)
        if Version(have) != Version(wanted):
            raise SystemExit(f"{name} {have} is imported, not the lowest allowed {wanted}")
        print(f"{name} {have}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        check(sys.argv[2:])
    else:
        print(" ".join(lowest(sys.argv[1:])))
