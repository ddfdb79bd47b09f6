"""Which other files a completion request shows the model, and the request itself.

The model completes better when it sees the code the current file uses: the
definitions it imports (Python ``import``/``from … import`` resolved inside
the project), the files open in other tabs and the recently edited ones, in
that order, at most ``MAX_RELATED`` of them. The editor and the CLI both
build their requests here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from app.core.completion.prompt import CompletionInput, RelatedFile, cut_window

MAX_RELATED = 3
MAX_RELATED_BYTES = 64 * 1024
_IMPORT = re.compile(r"^\s*(?:from\s+(\.*[\w.]*)\s+import|import\s+([\w.]+))", re.MULTILINE)


def imported_files(text: str, path: Path | None, root: Path | None) -> list[Path]:
    """Project files that the Python ``text`` imports (first 200 lines), resolved under ``root``."""
    if root is None:
        return []
    head = "\n".join(text[:20_000].split("\n")[:200])
    found: list[Path] = []
    for match in _IMPORT.finditer(head):
        module = match.group(1) or match.group(2) or ""
        dots = len(module) - len(module.lstrip("."))
        parts = [p for p in module.lstrip(".").split(".") if p]
        base = root
        if dots and path is not None:
            base = path.parent
            for _ in range(dots - 1):
                base = base.parent
        for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
            if parts and candidate.is_file() and candidate not in found and candidate != path:
                found.append(candidate)
                break
    return found


def _read_small(path: Path) -> str | None:
    try:
        if path.stat().st_size > MAX_RELATED_BYTES:
            with path.open("rb") as handle:
                data = handle.read(MAX_RELATED_BYTES)
        else:
            data = path.read_bytes()
    except OSError:
        return None
    if b"\0" in data[:8192]:
        return None  # binary: nothing the model can use
    return data.decode("utf-8", errors="replace")


def related_files(
    text: str,
    path: Path | None,
    root: Path | None,
    open_files: Iterable[tuple[Path, str]] = (),
    recent: Iterable[Path] = (),
) -> tuple[RelatedFile, ...]:
    """Up to ``MAX_RELATED`` related files: imported definitions, open tabs, recently edited."""
    chosen: list[RelatedFile] = []
    seen: set[Path] = {path} if path is not None else set()

    def label(file: Path) -> str:
        if root is not None:
            try:
                return file.relative_to(root).as_posix()
            except ValueError:
                pass
        return file.name

    def add(file: Path, content: str | None) -> None:
        if len(chosen) >= MAX_RELATED or file in seen or content is None:
            return
        seen.add(file)
        chosen.append(RelatedFile(label(file), content[:MAX_RELATED_BYTES]))

    if path is not None and path.suffix == ".py":
        for file in imported_files(text, path, root):
            add(file, _read_small(file))
    for file, content in open_files:
        add(file, content)
    for file in recent:
        add(file, _read_small(file))
    return tuple(chosen)


def build_request(
    text: str,
    cursor: int,
    path: Path | None = None,
    root: Path | None = None,
    open_files: Iterable[tuple[Path, str]] = (),
    recent: Iterable[Path] = (),
) -> CompletionInput:
    """The completion request for ``cursor`` in ``text`` (the editor's and the CLI's one way)."""
    prefix, suffix = cut_window(text, cursor)
    related = related_files(text, path, root, open_files, recent)
    name = ""
    if path is not None:
        name = path.name
        if root is not None and path.is_relative_to(root):
            name = path.relative_to(root).as_posix()
    return CompletionInput(prefix, suffix, name, root.name if root is not None else "", related)


def cursor_offset(text: str, line: int, column: int) -> int:
    """The character offset of 1-based ``line`` and ``column`` (clamped to the text)."""
    offset = 0
    for _ in range(max(0, line - 1)):
        nl = text.find("\n", offset)
        if nl < 0:
            return len(text)
        offset = nl + 1
    end = text.find("\n", offset)
    end = len(text) if end < 0 else end
    return min(offset + max(0, column - 1), end)
