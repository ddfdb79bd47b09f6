"""Reading edits out of a model's reply, as tolerantly as small models need.

The format asked for is search/replace blocks under a file path::

    app/main.py
    ```python
    <<<<<<< SEARCH
    lines copied from the file
    =======
    the lines to put there instead
    >>>>>>> REPLACE
    ```

and, for a new file, its path followed by one fenced block with the whole
content. Small models drift from this in predictable ways, all accepted here:
the fences are missing, doubled or put inside the sections; the markers have
the wrong number of characters or the closing one is missing; the path is
decorated (``**app/main.py**``, ``# File: app/main.py``, a prose line with
the path in backticks, the fence's info string) or left out (then the block
is for the current file, or for the file of the previous block). Parsing
never raises: anything that cannot be read becomes a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.edits.thinking import strip_thinking

SEARCH_RE = re.compile(r"^\s*<{5,9}\s*(?:SEARCH|ORIGINAL|FIND)\b.*$", re.IGNORECASE)
DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
REPLACE_RE = re.compile(r"^\s*>{5,9}(?:\s*(?:REPLACE|UPDATED)\b.*|\s*)$", re.IGNORECASE)
FENCE_RE = re.compile(r"^\s*(`{3,}|~{3,})([^`]*)$")

_MAX_PATH = 260
_PATH_CHARS = re.compile(r"^(?:[A-Za-z]:)?[\w.\-/\\~@+$]+$")
_EXTENSION = re.compile(r"\.[A-Za-z][\w+-]{0,9}$")
_BARE_NAMES = frozenset(
    {"Makefile", "Dockerfile", "Containerfile", "Justfile", "Procfile", "Gemfile", "Rakefile", "LICENSE", "README"}
)
_LEAD_DECORATION = re.compile(r"^(?:#{1,6}|//|--|;|\*+|-|>|\d+[.)]|/\*|<!--)\s*")
_TRAIL_DECORATION = re.compile(r"\s*(?:\*/|-->)$")
_LABEL = re.compile(r"^(?:file(?:\s*name)?|filename|path|new file|create)\s*[:=]\s*", re.IGNORECASE)
_SPANS = re.compile(r"`([^`\s]+)`|\*\*([^*\s]+)\*\*")
# Languages that never hold a file's content: a path above them is about
# running something, not a new file.
_COMMAND_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "terminal", "zsh", "powershell", "cmd", "output"})
_LANGUAGE_EXTENSIONS = {
    "python": (".py", ".pyw", ".pyi"),
    "py": (".py", ".pyw", ".pyi"),
    "javascript": (".js", ".mjs", ".cjs", ".jsx"),
    "js": (".js", ".mjs", ".cjs", ".jsx"),
    "typescript": (".ts", ".tsx", ".mts", ".cts"),
    "ts": (".ts", ".tsx", ".mts", ".cts"),
    "rust": (".rs",),
    "go": (".go",),
    "c": (".c", ".h"),
    "cpp": (".cpp", ".cc", ".cxx", ".hpp", ".hh", ".h"),
    "java": (".java",),
    "json": (".json",),
    "toml": (".toml",),
    "yaml": (".yaml", ".yml"),
    "markdown": (".md", ".markdown"),
    "html": (".html", ".htm"),
    "css": (".css",),
}


@dataclass(frozen=True)
class EditBlock:
    """One change the model asked for.

    ``search`` and ``replace`` are lists of lines (no line endings). A
    ``whole_file`` block gives the file's entire new content in ``replace``.
    ``path`` is as the model wrote it; ``None`` means the current file.
    ``complete`` is False when the block's closing marker was missing and its
    end had to be guessed.
    """

    path: str | None
    search: tuple[str, ...]
    replace: tuple[str, ...]
    whole_file: bool = False
    line: int = 1
    complete: bool = True


@dataclass(frozen=True)
class CodeFence:
    """A fenced code block that is not an edit (no path, no markers)."""

    language: str
    text: str
    line: int


@dataclass(frozen=True)
class ParseResult:
    """The edits found in a reply, its other code blocks, and what could not be read."""

    blocks: tuple[EditBlock, ...]
    code: tuple[CodeFence, ...]
    notes: tuple[str, ...]

    @property
    def has_edits(self) -> bool:
        return bool(self.blocks)


def looks_like_path(candidate: str) -> bool:
    """True for a bare file path such as ``app/main.py``, ``/abs/x.rs`` or ``Makefile``."""
    if not candidate or len(candidate) > _MAX_PATH or not _PATH_CHARS.match(candidate):
        return False
    name = re.split(r"[/\\]", candidate)[-1]
    if not name or name in (".", ".."):
        return False
    if name in _BARE_NAMES:
        return True
    stem = name[: name.rfind(".")] if "." in name else name
    return bool(_EXTENSION.search(name)) and bool(stem.strip("."))


def path_from_line(line: str) -> tuple[str | None, bool]:
    """The file path a line names, and whether the line was nothing but that path.

    A line that is only a path (possibly decorated as a heading, bold, code,
    a comment or ``File: …``) gives ``(path, True)``; a prose line naming one
    path in backticks or bold gives ``(path, False)``.
    """
    text = line.strip()
    if not text or len(text) > 4 * _MAX_PATH:
        return None, False
    bare = _TRAIL_DECORATION.sub("", _LEAD_DECORATION.sub("", text))
    bare = _LABEL.sub("", bare.strip())
    bare = bare.strip().strip("*_`'\"").rstrip(":").strip().strip("*_`'\"")
    if looks_like_path(bare):
        return bare, True
    spans = [a or b for a, b in _SPANS.findall(text)]
    paths = [span.rstrip(":") for span in spans if looks_like_path(span.rstrip(":"))]
    if len(paths) == 1:
        return paths[0], False
    return None, False


def _fence_info(info: str) -> tuple[str, str | None]:
    """(language, path) from a fence's info string such as ``python app/x.py`` or ``python:x.py``."""
    language = ""
    path: str | None = None
    for index, token in enumerate(info.split()):
        value = token.split("=", 1)[1] if "=" in token else token
        value = value.strip("\"'")
        if looks_like_path(value) and not (index == 0 and value.lower() in _LANGUAGE_EXTENSIONS):
            path = path or value
            continue
        if ":" in value and not re.match(r"^[A-Za-z]:[\\/]", value):
            head, tail = value.split(":", 1)
            if looks_like_path(tail):
                language = language or head.lower()
                path = path or tail
                continue
        if index == 0:
            language = value.lower()
    return language, path


def _language_fits(language: str, path: str) -> bool:
    if language in _COMMAND_LANGUAGES:
        return path.endswith((".sh", ".bash", ".zsh", ".ps1", ".bat", ".cmd"))
    extensions = _LANGUAGE_EXTENSIONS.get(language)
    return extensions is None or path.lower().endswith(extensions)


def _is_bare_fence(line: str) -> bool:
    match = FENCE_RE.match(line)
    return match is not None and not match.group(2).strip()


def _trim_fences(section: list[str]) -> list[str]:
    """Drop a fence line a model put inside a SEARCH or REPLACE section."""
    if section and FENCE_RE.match(section[0]):
        section = section[1:]
    if section and _is_bare_fence(section[-1]):
        section = section[:-1]
    return section


class _Parser:
    def __init__(self, text: str) -> None:
        self.lines = strip_thinking(text).replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.consumed = [False] * len(self.lines)
        self.notes: list[str] = []

    def path_above(self, start: int, floor: int) -> str | None:
        """The path named just above line ``start`` (fences and blank lines skipped)."""
        index = start - 1
        while index >= floor:
            line = self.lines[index]
            fence = FENCE_RE.match(line)
            if fence:
                _, path = _fence_info(fence.group(2))
                if path:
                    return path
            elif line.strip():
                return path_from_line(line)[0]
            index -= 1
        return None

    def marker_blocks(self) -> list[EditBlock]:
        blocks: list[EditBlock] = []
        lines = self.lines
        count = len(lines)
        previous_path: str | None = None
        floor = 0
        index = 0
        while index < count:
            if not SEARCH_RE.match(lines[index]):
                index += 1
                continue
            start = index
            divider = start + 1
            while divider < count and not (
                DIVIDER_RE.match(lines[divider]) or SEARCH_RE.match(lines[divider]) or REPLACE_RE.match(lines[divider])
            ):
                divider += 1
            if divider >= count or not DIVIDER_RE.match(lines[divider]):
                self.notes.append(
                    f"The edit block at line {start + 1} of the reply has no ======= line; it was left out."
                )
                # A closing marker belongs to the broken block; a new SEARCH starts the next one.
                index = divider + 1 if divider < count and REPLACE_RE.match(lines[divider]) else divider
                self._consume(start, index)
                continue
            end = divider + 1
            while end < count and not REPLACE_RE.match(lines[end]) and not SEARCH_RE.match(lines[end]):
                end += 1
            complete = end < count and bool(REPLACE_RE.match(lines[end]))
            if complete:
                replace = lines[divider + 1 : end]
                after = end + 1
            else:
                # No closing marker: the block ends where the fence around it
                # closes, or at the next block, or at the end of the reply.
                stop = next((i for i in range(divider + 1, end) if _is_bare_fence(lines[i])), end)
                replace = lines[divider + 1 : stop]
                after = stop + 1 if stop < end else stop
                self.notes.append(
                    f"The edit block at line {start + 1} of the reply has no >>>>>>> REPLACE line; "
                    "its end was guessed, so check it."
                )
            path = self.path_above(start, floor) or previous_path
            blocks.append(
                EditBlock(
                    path=path,
                    search=tuple(_trim_fences(lines[start + 1 : divider])),
                    replace=tuple(_trim_fences(replace)),
                    line=start + 1,
                    complete=complete,
                )
            )
            previous_path = path
            self._consume(start, after)
            floor = after
            index = after
        return blocks

    def _consume(self, start: int, end: int) -> None:
        for i in range(start, min(end, len(self.lines))):
            self.consumed[i] = True

    def fences(self) -> tuple[list[EditBlock], list[CodeFence]]:
        """Whole-file blocks (fences under a path) and other code blocks, outside the marker blocks."""
        blocks: list[EditBlock] = []
        code: list[CodeFence] = []
        lines = self.lines
        count = len(lines)
        floor = 0
        index = 0
        while index < count:
            fence = None if self.consumed[index] else FENCE_RE.match(lines[index])
            if fence is None:
                index += 1
                continue
            marker = fence.group(1)
            close = index + 1
            holds_edits = False
            while close < count:
                if self.consumed[close]:
                    holds_edits = True
                else:
                    candidate = FENCE_RE.match(lines[close])
                    if (
                        candidate
                        and not candidate.group(2).strip()
                        and candidate.group(1)[0] == marker[0]
                        and len(candidate.group(1)) >= len(marker)
                    ):
                        break
                close += 1
            if not holds_edits:
                language, info_path = _fence_info(fence.group(2))
                body = lines[index + 1 : close]
                self._add_fence(blocks, code, language, info_path, body, index, floor, closed=close < count)
            floor = index = close + 1
        return blocks, code

    def _add_fence(
        self,
        blocks: list[EditBlock],
        code: list[CodeFence],
        language: str,
        info_path: str | None,
        body: list[str],
        index: int,
        floor: int,
        closed: bool,
    ) -> None:
        path = info_path
        strict = False
        if path is None and body:
            first, only_path = path_from_line(body[0])
            if first and only_path and re.match(r"^\s*(?:#|//|--|/\*|<!--)", body[0]):
                path = first
        if path is None:
            above = index - 1
            while above >= floor and not self.lines[above].strip():
                above -= 1
            if above >= floor and not self.consumed[above] and not FENCE_RE.match(self.lines[above]):
                path, only_path = path_from_line(self.lines[above])
                strict = not only_path
        if path is not None and strict:
            # A path mentioned in prose only counts when the fence's language matches the file.
            extensions = _LANGUAGE_EXTENSIONS.get(language)
            if not extensions or not path.lower().endswith(extensions):
                path = None
        if path is not None and _language_fits(language, path):
            blocks.append(
                EditBlock(path=path, search=(), replace=tuple(body), whole_file=True, line=index + 1, complete=closed)
            )
            if not closed:
                self.notes.append(
                    f"The code block for {path} at line {index + 1} of the reply is not closed; it may be cut off."
                )
        else:
            code.append(CodeFence(language=language, text="\n".join(body), line=index + 1))


def parse_edits(reply: str) -> ParseResult:
    """Find the edits in ``reply``; never raises, whatever the text."""
    parser = _Parser(reply)
    marker_blocks = parser.marker_blocks()
    whole, code = parser.fences()
    blocks = sorted(marker_blocks + whole, key=lambda block: block.line)
    return ParseResult(tuple(blocks), tuple(code), tuple(parser.notes))
