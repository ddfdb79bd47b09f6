"""What the code-reference index reads: installed distributions and folders the user adds.

A source is a named set of files with one licence: a distribution (name,
version, licence from its metadata, the source files its RECORD lists) or a
user folder (its licence file, if any). Files that cannot be useful code are
left out here: binary, minified or generated files, and huge ones.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import Distribution, distributions
from pathlib import Path

from app.core.refs.licences import Licence, distribution_licence, folder_licence

log = logging.getLogger(__name__)

# Code people copy from; data, docs and type stubs are left out.
SOURCE_SUFFIXES = frozenset(
    {
        ".py", ".pyx", ".pxd", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".js", ".mjs", ".ts", ".jsx",
        ".tsx", ".go", ".rs", ".java", ".kt", ".scala", ".rb", ".php", ".cs", ".swift", ".lua", ".sh", ".r",
        ".jl", ".m", ".sql",
    }
)  # fmt: skip
MAX_FILE_BYTES = 1_000_000  # bigger source files are generated tables, not code anyone copies
MAX_LINE_CHARS = 2_000  # a line this long means minified or generated
MAX_FOLDER_FILES = 50_000
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".nox", ".venv", "venv"})
_LICENCE_NAMES = ("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE.rst")
_NAME_NORMALISER = re.compile(r"[-_.]+")


def canonical_name(name: str) -> str:
    """A distribution name as packaging compares them (PEP 503)."""
    return _NAME_NORMALISER.sub("-", name).lower()


@dataclass(frozen=True)
class Source:
    """One thing indexed: a distribution or a folder, with its licence."""

    key: str  # "dist:name==version" or "folder:/abs/path"
    kind: str  # "package" or "folder"
    name: str
    version: str
    licence: Licence
    location: Path  # what displayed paths are relative to
    signature: str  # changes when the source's contents may have changed

    def files(self) -> list[Path]:
        """The source files to read, absolute (computed when indexing, not when listing)."""
        raise NotImplementedError


@dataclass(frozen=True)
class DistributionSource(Source):
    """An installed distribution."""

    dist: Distribution | None = None

    def files(self) -> list[Path]:
        if self.dist is None:
            return []
        found = []
        try:
            listed = list(self.dist.files or ())
        except (OSError, ValueError) as err:  # a damaged or vanished RECORD
            log.info("cannot list the files of %s: %s", self.name, err)
            return []
        for path in listed:
            if path.suffix.lower() not in SOURCE_SUFFIXES or "__pycache__" in path.parts or ".." in path.parts:
                continue
            found.append(Path(str(self.dist.locate_file(path))))
        return sorted(found)


@dataclass(frozen=True)
class FolderSource(Source):
    """A folder the user added in Settings."""

    def files(self) -> list[Path]:
        found: list[Path] = []
        for folder, dirs, names in os.walk(self.location, onerror=lambda err: None):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
            for name in sorted(names):
                if os.path.splitext(name)[1].lower() in SOURCE_SUFFIXES:
                    found.append(Path(folder) / name)
                    if len(found) >= MAX_FOLDER_FILES:
                        log.info("stopped listing %s after %d files", self.location, MAX_FOLDER_FILES)
                        return found
        return found


def site_packages(environment: Path) -> list[Path]:
    """The site-packages folders of a virtual environment (or a plain folder of packages)."""
    if environment.name == "site-packages":
        return [environment]
    found = sorted(environment.glob("lib/python*/site-packages")) + sorted(environment.glob("Lib/site-packages"))
    return [path for path in found if path.is_dir()]


def project_environments(root: Path) -> list[Path]:
    """Virtual environments inside a project folder (``.venv``, ``venv``, ``env``)."""
    found = []
    for name in (".venv", "venv", "env", ".env"):
        candidate = root / name
        if (candidate / "pyvenv.cfg").is_file():
            found.extend(site_packages(candidate))
    return found


def _distribution_source(dist: Distribution) -> DistributionSource | None:
    try:
        names = dist.metadata.get_all("Name") or []
        name = str(names[0]) if names else ""
        version = dist.version or ""
    except (OSError, ValueError, UnicodeError):
        return None
    if not name:
        return None
    location = Path(str(dist.locate_file("")))
    return DistributionSource(
        key=f"dist:{canonical_name(name)}=={version}",
        kind="package",
        name=name,
        version=version,
        licence=distribution_licence(dist),
        location=location,
        signature=f"{version}@{location}",
        dist=dist,
    )


def distribution_sources(paths: Iterable[Path] | None = None) -> list[DistributionSource]:
    """Installed distributions: this Python's (``paths`` None) or those in the given folders.

    The same name and version found twice (two environments) is indexed once.
    """
    search = None if paths is None else [str(path) for path in paths]
    found: dict[str, DistributionSource] = {}
    for dist in distributions() if search is None else distributions(path=search):
        source = _distribution_source(dist)
        if source is not None and source.key not in found:
            found[source.key] = source
    return list(found.values())


def _folder_signature(folder: Path) -> str:
    """Cheap change detection for a folder: the newest mtime and the count of its source files."""
    newest, count = 0, 0
    for path in FolderSource("", "folder", "", "", Licence(None), folder, "").files():
        try:
            stat = path.stat()
        except OSError:
            continue
        newest, count = max(newest, stat.st_mtime_ns), count + 1
    return f"{count}:{newest}"


def folder_source(folder: Path) -> FolderSource:
    """A user folder as a source, its licence from a licence file at its top."""
    folder = folder.expanduser().resolve()
    text = None
    for name in _LICENCE_NAMES:
        try:
            text = (folder / name).read_text(encoding="utf-8", errors="replace")[:200_000]
            break
        except OSError:
            continue
    return FolderSource(
        key=f"folder:{folder}",
        kind="folder",
        name=folder.name,
        version="",
        licence=folder_licence(text),
        location=folder,
        signature=_folder_signature(folder),
    )


def readable_source(path: Path) -> str | None:
    """The text of a source file worth indexing, or None (binary, minified, huge, unreadable)."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(len(line) > MAX_LINE_CHARS for line in text.splitlines()):
        return None
    return text


def iter_sources(
    environments: Iterable[Path] = (), folders: Iterable[Path] = (), include_own: bool = True
) -> Iterator[Source]:
    """Every source to index: this Python's distributions, other environments', then folders."""
    seen: set[str] = set()
    groups: list[list[DistributionSource]] = []
    if include_own:
        groups.append(distribution_sources())
    extra = [path for env in environments for path in site_packages(env)]
    if extra:
        groups.append(distribution_sources(extra))
    for group in groups:
        for source in group:
            if source.key not in seen:
                seen.add(source.key)
                yield source
    for folder in folders:
        if Path(folder).expanduser().is_dir():
            yield folder_source(Path(folder))
