"""``@path`` mentions in a message: finding them and resolving them to project files.

A mention is ``@`` followed by a path (``@app/cli.py``), or a quoted one
for names with spaces (``@"my notes.md"``, ``@`my notes.md` ``). Trailing
sentence punctuation is not part of the path. A mention resolves, in order,
to the file at that path relative to the project root, or to the one
indexed file whose name (or path ending) it is.

A mention of a file outside the root, of an ignored, binary or too big
file, of a folder, or of a name that matches several files is refused with
a reason. Words that merely look like mentions (``@property``, an
``@user`` handle) and match nothing are left alone: a mention needs a slash
or a dot to be reported as missing.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.project.ignore import IgnoreRules
from app.core.project.scanner import valid_name
from app.core.project.textread import human_size

_MENTION = re.compile(r"""(?<![\w@/.])@(?:"([^"\n]+)"|`([^`\n]+)`|([\w~./\\+-]+))""")
_TRAILING = ".,;:!?)]}'\""


@dataclass(frozen=True)
class Mention:
    """One resolved mention: ``path`` (relative) when it can be attached, else ``problem`` says why not."""

    raw: str
    path: str | None
    problem: str | None  # one sentence


def find_mentions(message: str) -> list[str]:
    """The mentioned paths in ``message``, in order, without duplicates or trailing punctuation."""
    found: dict[str, None] = {}
    for match in _MENTION.finditer(message):
        raw = match.group(1) or match.group(2) or (match.group(3) or "").rstrip(_TRAILING)
        if raw:
            found.setdefault(raw)
    return list(found)


class MentionResolver:
    """Resolves mentions against one project's root, rules and indexed files."""

    def __init__(self, root: Path, rules: IgnoreRules, indexed: Iterable[str], max_bytes: int) -> None:
        self.root = root
        self.rules = rules
        self.max_bytes = max_bytes
        self._indexed = set(indexed)
        self._by_name: dict[str, list[str]] = {}
        for path in sorted(self._indexed):
            self._by_name.setdefault(path.rpartition("/")[2], []).append(path)

    def resolve_all(self, raws: Sequence[str]) -> list[Mention]:
        """Resolve each mention; those that look like something else entirely are left out."""
        out = []
        for raw in raws:
            mention = self.resolve(raw)
            if mention is not None:
                out.append(mention)
        return out

    def resolve(self, raw: str) -> Mention | None:
        """Resolve one mention; None when it does not look like a path and matches nothing."""
        text = raw.strip().replace("\\", "/")
        looks_like_path = "/" in text or "." in text
        candidate = Path(os.path.expanduser(text))
        absolute = candidate if candidate.is_absolute() else self.root / candidate
        normal = os.path.normpath(absolute)
        rel = os.path.relpath(normal, self.root).replace(os.sep, "/")
        if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
            return Mention(raw, None, f"@{raw} is outside the project folder; only files inside it can be attached.")
        if rel in self._indexed:
            return Mention(raw, rel, None)
        problem = self._problem(raw, rel)
        if problem is not None:
            return Mention(raw, None, problem)
        if rel != "." and os.path.lexists(normal):
            return Mention(raw, rel, None)  # on disk and acceptable, just not indexed yet
        matches = self._matches(text)
        if len(matches) == 1:
            return Mention(raw, matches[0], None)
        if len(matches) > 1:
            shown = ", ".join(matches[:3]) + (", ..." if len(matches) > 3 else "")
            return Mention(raw, None, f"@{raw} matches {len(matches)} files ({shown}); write more of its path.")
        if not looks_like_path:
            return None
        return Mention(raw, None, f"@{raw} is not a file in the project; check the name.")

    def _matches(self, text: str) -> list[str]:
        text = text.strip("/")
        if "/" not in text:
            return list(self._by_name.get(text, ()))
        suffix = "/" + text
        return sorted(p for p in self._indexed if p.endswith(suffix))

    def _problem(self, raw: str, rel: str) -> str | None:
        """Why an existing path cannot be attached, or None (also None when it does not exist)."""
        if rel == ".":
            return f"@{raw} is the project folder itself; mention a file inside it."
        path = self.root / rel
        try:
            info = os.lstat(path)
        except OSError:
            return None
        if stat.S_ISLNK(info.st_mode):
            target = os.path.realpath(path)
            if os.path.commonpath([target, os.path.realpath(self.root)]) != os.path.realpath(self.root):
                return f"@{raw} is a link to a file outside the project folder; only files inside it can be attached."
            return f"@{raw} is a symbolic link, which Quillpad does not follow; mention the file it points to."
        if stat.S_ISDIR(info.st_mode):
            return f"@{raw} is a folder; mention a file inside it."
        if not stat.S_ISREG(info.st_mode):
            return f"@{raw} is not a regular file, so it cannot be attached."
        if not valid_name(rel):
            return f"@{raw} has a name Quillpad cannot store; rename the file."
        reason = self.rules.reason(rel, is_dir=False)
        if reason is not None:
            return f"@{raw} cannot be attached because {reason}."
        if info.st_size > self.max_bytes:
            return (
                f"@{raw} is {human_size(info.st_size)}, over the {human_size(self.max_bytes)} limit for attached "
                "files; attach a selection from it instead."
            )
        return None  # binary content is found when the file is read
