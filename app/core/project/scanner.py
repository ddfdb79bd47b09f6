"""Walking a project folder: the candidate files and their size and modification time.

Ignored folders are pruned (never entered), symbolic links are not followed
(so a link loop or a link out of the project cannot pull in other files),
files over the size limit and binary names are left out, and folders that
vanish or cannot be read mid-walk are skipped. File names that are not valid
UTF-8 are skipped too: they cannot be stored or shown faithfully.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from app.core.project.ignore import IgnoreRules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiskFile:
    """What a walk learns about a file without opening it."""

    size: int
    mtime_ns: int


def valid_name(rel: str) -> bool:
    """False for names with undecodable bytes (surrogate escapes) or a newline, which are skipped."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\n" not in rel and "\r" not in rel


def stat_candidate(root: Path, rel: str, rules: IgnoreRules, max_bytes: int) -> DiskFile | None:
    """The file ``rel`` as a walk would see it, or None if a walk would skip it (checks parents too)."""
    if not valid_name(rel) or rules.is_ignored(rel, is_dir=False):
        return None
    try:
        info = os.lstat(root / rel)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
        return None
    return DiskFile(info.st_size, info.st_mtime_ns)


def scan(root: Path, rules: IgnoreRules, max_bytes: int, under: str = "") -> dict[str, DiskFile]:
    """Every candidate file below ``under`` (relative, "" for the whole project), by relative path.

    Returns an empty mapping when ``under`` is missing, ignored or not a folder.
    """
    found: dict[str, DiskFile] = {}
    if under:
        if not valid_name(under) or rules.is_ignored(under, is_dir=True):
            return found
        try:
            if not stat.S_ISDIR(os.lstat(root / under).st_mode):  # a link to a folder is not followed either
                return found
        except OSError:
            return found
    pending = [under]
    while pending:
        rel_dir = pending.pop()
        folder = root / rel_dir if rel_dir else root
        try:
            entries = list(os.scandir(folder))
        except OSError as err:
            # Vanished, replaced by a file, or unreadable: it holds nothing we can index.
            log.debug("cannot list %s: %s", folder, err)
            continue
        prefix = rel_dir + "/" if rel_dir else ""
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if valid_name(rel) and not rules.dir_ignored(rel):
                        pending.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if not valid_name(rel) or rules.file_ignored(rel):
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone between listing and looking
            if info.st_size <= max_bytes:
                found[rel] = DiskFile(info.st_size, info.st_mtime_ns)
    return found
