"""Fixtures for the code-reference index: fake installed distributions (real dist-info
folders that importlib.metadata reads) and an index of real installed packages."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from app.core.refs.index import RefIndex
from app.core.refs.sources import distribution_sources

# Real installed dependencies of Quillpad: code nobody here wrote.
REAL_PACKAGES = ("jinja2", "pathspec")


def make_distribution(
    site: Path,
    name: str,
    version: str,
    modules: Mapping[str, str],
    metadata: Mapping[str, str | list[str]] | None = None,
    licence_file: str | None = None,
) -> Path:
    """Write a distribution as pip installs it: its files, METADATA and RECORD."""
    site.mkdir(parents=True, exist_ok=True)
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    for key, value in (metadata or {}).items():
        for item in [value] if isinstance(value, str) else value:
            lines.append(f"{key}: {item}")
    (info / "METADATA").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    record = []
    for relative, text in modules.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        digest = hashlib.sha256(text.encode()).hexdigest()
        record.append(f"{relative},sha256={digest},{len(text)}")
    if licence_file is not None:
        (info / "LICENSE").write_text(licence_file, encoding="utf-8")
        record.append(f"{info.name}/LICENSE,,")
    record.append(f"{info.name}/METADATA,,")
    record.append(f"{info.name}/RECORD,,")
    (info / "RECORD").write_text("\n".join(record) + "\n", encoding="utf-8")
    return info


@pytest.fixture(scope="module")
def real_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefIndex]:
    """An index of a few real installed packages, built once per module."""
    path = tmp_path_factory.mktemp("refs") / "index.sqlite3"
    index = RefIndex(path)
    sources = [source for source in distribution_sources() if source.name.lower() in REAL_PACKAGES]
    assert len(sources) == len(REAL_PACKAGES)
    index.update(sources=sources)
    yield index
    index.close()
