"""Walking a project folder: the candidate files and their size and modification time.

Ignored folders are pruned (never entered), symbolic links are not followed
(so a link loop or a link out of the project cannot pull in other files),
files over the size limit and binary names are left out, and folders that
vanish or cannot be read mid-walk are skipped. File names that are not valid
UTF-8 are skipped too: they cannot be stored or shown faithfully. A file-count
limit keeps a huge tree (a home folder opened by mistake) from taking hours:
the walk keeps the shallowest files and only counts the rest. What was left
out, and why, is counted for the summary the user sees.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from app.core.project.ignore import IgnoreRules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DiskFile:
    """What a walk learns about a file without opening it."""

    size: int
    mtime_ns: int


# What the summary calls each reason a file was left out (see ``ScanCounts`` and the indexer's reasons).
SKIP_REASONS = {
    "binary": "binary",
    "too_big": "over the size limit",
    "generated": "generated (minified or lock files)",
    "unreadable": "unreadable",
    "gone": "deleted before they could be read",
    "not_regular": "not regular files",
    "symlink": "symbolic links (not followed)",
    "unreadable_folder": "folders that could not be listed",
    "bad_name": "names that are not valid UTF-8",
    "over_limit": "over the file-count limit",
}


@dataclass
class ScanCounts:
    """Entries a walk left out, by reason (keys of ``SKIP_REASONS``)."""

    skipped: Counter[str] = field(default_factory=Counter)


def describe_skips(counts: dict[str, int]) -> str:
    """ "3 binary, 1 over the size limit" (most first), or "" when nothing was skipped."""
    parts = [f"{n:,} {SKIP_REASONS.get(k, k)}" for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    return ", ".join(parts)


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


def scan(
    root: Path,
    rules: IgnoreRules,
    max_bytes: int,
    under: str = "",
    *,
    max_files: int | None = None,
    counts: ScanCounts | None = None,
) -> dict[str, DiskFile]:
    """Every candidate file below ``under`` (relative, "" for the whole project), by relative path.

    Returns an empty mapping when ``under`` is missing, ignored or not a folder. With ``max_files``, the walk
    goes breadth first and keeps the first ``max_files`` files (the shallow ones, which say most about a
    project); the rest are only counted. ``counts`` receives what was left out and why.
    """
    found: dict[str, DiskFile] = {}
    tally = counts if counts is not None else ScanCounts()
    if under:
        if not valid_name(under) or rules.is_ignored(under, is_dir=True):
            return found
        try:
            if not stat.S_ISDIR(os.lstat(root / under).st_mode):  # a link to a folder is not followed either
                return found
        except OSError:
            return found
    pending = deque([under])
    limit = max_files if max_files is not None else -1
    while pending:
        rel_dir = pending.popleft()
        folder = root / rel_dir if rel_dir else root
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except FileNotFoundError:
            continue  # vanished mid-walk: it holds nothing
        except OSError as err:
            # Unreadable (permission), or replaced by a file: it holds nothing we can index.
            log.debug("cannot list %s: %s", folder, err)
            if not isinstance(err, NotADirectoryError):
                tally.skipped["unreadable_folder"] += 1
            continue
        prefix = rel_dir + "/" if rel_dir else ""
        for entry in entries:
            rel = prefix + entry.name
            try:
                if entry.is_symlink():
                    tally.skipped["symlink"] += 1
                    continue
                if entry.is_dir(follow_symlinks=False):
                    if not valid_name(rel):
                        tally.skipped["bad_name"] += 1
                    elif not rules.dir_ignored(rel):
                        pending.append(rel)
                    continue
                if not entry.is_file(follow_symlinks=False):
                    continue
                if not valid_name(rel):
                    tally.skipped["bad_name"] += 1
                    continue
                if rules.file_ignored(rel):
                    continue
                if len(found) == limit:
                    tally.skipped["over_limit"] += 1  # counted without a stat: a huge tree stays quick
                    continue
                info = entry.stat(follow_symlinks=False)
            except OSError:
                tally.skipped["gone"] += 1  # gone between listing and looking
                continue
            if info.st_size <= max_bytes:
                found[rel] = DiskFile(info.st_size, info.st_mtime_ns)
            else:
                tally.skipped["too_big"] += 1
    return found
