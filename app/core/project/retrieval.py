"""Assembling the project context for one message, within a token budget.

Candidates, in priority order: the selection (or else the current file),
the files mentioned with ``@path``, the chunks that best answer the message
(``ranking``: definitions named in it first, at most two per file, none from
files already attached whole; the current file's references and recently
touched files count), the
changes since the last message, and the repository map. They are taken in
that order while they fit; the first one that does not fit is cut down to
the room left (at a line boundary, marked as truncated) when that room is
worth having, and everything after it is dropped. Every item says why it was
chosen (``ContextItem.reasons``, shown on its chip). The repository map is
drawn to fit whatever room is left. Every item that was left out, and every
mention that was refused, is listed in ``dropped`` with its reason, and
``render()`` is exactly the text that goes into the prompt, so what the user
sees is what the model gets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from app.core.project.errors import InvalidQueryError
from app.core.project.index import SearchHit
from app.core.project.languages import fence_language
from app.core.project.mentions import Mention
from app.core.project.textread import FileText, NotText
from app.core.project.tokens import TokenCounter, estimate_tokens

MAX_CHUNKS = 6
MAX_CHUNKS_PER_FILE = 2
SEARCH_DEPTH = 30
# Below this many tokens of room, cutting an item down leaves too little of it to be useful.
MIN_TRUNCATED_TOKENS = 48
MIN_REPO_MAP_TOKENS = 64
# A current file costing more than this share of the budget is attached as the lines around the cursor
# (when the cursor is known), so a big file cannot crowd out everything else.
CURRENT_FILE_SHARE = 0.5
CURSOR_CONTEXT_LINES = 40  # lines above and below the cursor
TRUNCATION_MARK = "[... truncated to fit the context budget]"
_SEPARATOR = "\n\n"
_BACKTICKS = re.compile(r"`{3,}")

KINDS = ("selection", "file", "mention", "chunk", "changes", "repo_map")


@dataclass(frozen=True)
class ContextItem:
    """One attached piece. ``tokens`` counts its whole rendered section, heading and fence included."""

    kind: str  # "file", "selection", "mention", "chunk", "repo_map" or "changes"
    label: str  # unique within one context; what the user sees on the item's chip
    text: str
    tokens: int
    path: str | None = None
    start_line: int | None = None
    end_line: int | None = None
    truncated: bool = False
    # Why it was attached, in words for its chip ("definition of Repo, named in the question", "recently
    # edited", "related by references", "the current file"...).
    reasons: tuple[str, ...] = ()
    definitions: tuple[str, ...] = ()  # for chunks: the definitions the question asked about that it holds

    @property
    def why(self) -> str:
        """The reasons as one short phrase for the chip ("" when there are none)."""
        return "; ".join(self.reasons)

    def heading(self) -> str:
        """The section's title line."""
        lines = ""
        if self.start_line is not None and self.end_line is not None:
            lines = f", lines {self.start_line}-{self.end_line}"
        title = {
            "selection": f"Selected text{' in ' + self.path if self.path else ''}{lines}",
            "file": f"Current file {self.path}{lines}",
            "mention": f"{self.path} (mentioned)",
            "chunk": f"{self.path}{lines}" + (f" (defines {', '.join(self.definitions)})" if self.definitions else ""),
            "changes": "Changed since your last message",
            "repo_map": "Repository map (definitions by file, most relevant first)",
        }.get(self.kind, self.label)
        return f"### {title}" + (" (truncated)" if self.truncated else "")

    def render(self) -> str:
        """The section as it appears in the prompt: heading, then the text in a code fence."""
        longest = max((len(m) for m in _BACKTICKS.findall(self.text)), default=0)
        fence = "`" * max(3, longest + 1)
        language = "diff" if self.kind == "changes" else fence_language(self.path) if self.path else ""
        body = self.text[:-1] if self.text.endswith("\n") else self.text  # the fence supplies the last newline
        return f"{self.heading()}\n{fence}{language}\n{body}\n{fence}"


@dataclass(frozen=True)
class AssembledContext:
    """The attached items, what they cost in total, and what was left out (each entry one sentence)."""

    items: list[ContextItem]
    total_tokens: int
    dropped: list[str]
    header: str = ""
    header_tokens: int = 0
    budget_tokens: int = 0

    def render(self) -> str:
        """The exact text block that goes into the prompt ("" when nothing is attached)."""
        if not self.items:
            return ""
        return self.header + _SEPARATOR + _SEPARATOR.join(item.render() for item in self.items)

    def without(self, label: str) -> AssembledContext:
        """The same context with the item ``label`` removed (the user took it off before sending)."""
        kept = [item for item in self.items if item.label != label]
        if len(kept) == len(self.items):
            return self
        total = (self.header_tokens + sum(item.tokens for item in kept)) if kept else 0
        return replace(self, items=kept, total_tokens=total)

    def labels(self) -> list[str]:
        """The items' labels, in order."""
        return [item.label for item in self.items]


@dataclass(frozen=True)
class ContextSources:
    """Where the assembler gets each kind of item (the project supplies these)."""

    project_name: str
    read_file: Callable[[str], FileText | NotText]
    resolve_mentions: Callable[[str], list[Mention]]
    search: Callable[[str, int], list[SearchHit]]
    changes: Callable[[], str]
    repo_map: Callable[[str, Sequence[str], Mapping[str, str], int, TokenCounter], str]
    has_files: bool = True


@dataclass
class _Fitter:
    budget: int
    count: TokenCounter
    remaining: int
    items: list[ContextItem] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    full: bool = False  # an item was cut down: the budget is spent

    def cost(self, item: ContextItem) -> int:
        return self.count(item.render() + _SEPARATOR)

    def offer(self, item: ContextItem) -> bool:
        """Attach ``item`` whole, cut down, or not at all (then it is listed as dropped)."""
        if not self.full:
            cost = self.cost(item)
            if cost <= self.remaining:
                self.items.append(replace(item, tokens=cost))
                self.remaining -= cost
                return True
            if self.remaining >= MIN_TRUNCATED_TOKENS:
                cut = self._truncate(item)
                if cut is not None:
                    self.items.append(cut)
                    self.remaining -= cut.tokens
                    self.full = True
                    return True
            self.full = True
        self.dropped.append(f"{item.label} did not fit in the {self.budget:,}-token context budget.")
        return False

    def _truncate(self, item: ContextItem) -> ContextItem | None:
        """The longest head of ``item`` (whole lines) that fits in the room left, or None."""
        text = item.text
        low, high = 0, len(text)
        best: ContextItem | None = None
        while low <= high:
            middle = (low + high) // 2
            head = text[:middle]
            if middle < len(text) and "\n" in head:
                head = head[: head.rfind("\n")]
            candidate = replace(item, text=f"{head}\n{TRUNCATION_MARK}" if head else TRUNCATION_MARK, truncated=True)
            if item.end_line is not None and item.start_line is not None:
                shown = head.count("\n") + 1 if head else 0
                candidate = replace(candidate, end_line=max(item.start_line, item.start_line + shown - 1))
            cost = self.cost(candidate)
            if cost <= self.remaining:
                best = replace(candidate, tokens=cost)
                low = middle + 1
            else:
                high = middle - 1
        if best is None or not best.text.strip() or best.text == TRUNCATION_MARK:
            return None
        return best


_KIND_REASONS = {
    "selection": ("selected in the editor",),
    "file": ("the current file",),
    "mention": ("mentioned with @",),
    "changes": ("changed since your last message",),
    "repo_map": ("the project's definitions, most relevant first",),
}


def _item(
    kind: str,
    label: str,
    text: str,
    path: str | None = None,
    lines: tuple[int, int] | None = None,
    reasons: tuple[str, ...] | None = None,
    definitions: tuple[str, ...] = (),
) -> ContextItem:
    start, end = lines if lines is not None else (None, None)
    why = _KIND_REASONS.get(kind, ()) if reasons is None else reasons
    return ContextItem(kind, label, text, 0, path, start, end, reasons=why, definitions=definitions)


def _chunk_candidates(hits: list[SearchHit], skip_files: set[str]) -> list[ContextItem]:
    per_file: dict[str, int] = {}
    chosen: list[ContextItem] = []
    for hit in hits:
        if hit.path in skip_files or per_file.get(hit.path, 0) >= MAX_CHUNKS_PER_FILE:
            continue
        per_file[hit.path] = per_file.get(hit.path, 0) + 1
        label = f"{hit.path}:{hit.start_line}-{hit.end_line}"
        chosen.append(
            _item("chunk", label, hit.text, hit.path, (hit.start_line, hit.end_line), hit.reasons, hit.definitions)
        )
        if len(chosen) >= MAX_CHUNKS:
            break
    return chosen


def _around_cursor(path: str, text: str, cursor_line: int) -> ContextItem:
    """The lines around the cursor in the current file, as a "file" item with its line range."""
    lines = text.split("\n")
    line = min(max(1, cursor_line), len(lines))
    first = max(1, line - CURSOR_CONTEXT_LINES)
    last = min(len(lines), line + CURSOR_CONTEXT_LINES)
    excerpt = "\n".join(lines[first - 1 : last])
    return _item(
        "file", f"{path}:{first}-{last}", excerpt, path, (first, last), ("around the cursor in the current file",)
    )


def assemble_context(
    sources: ContextSources,
    message: str,
    *,
    current_file: str | None,
    selection: str | None,
    budget_tokens: int,
    count_tokens: TokenCounter | None = None,
    current_text: str | None = None,
    selection_lines: tuple[int, int] | None = None,
    cursor_line: int | None = None,
) -> AssembledContext:
    """The context for ``message`` (see the module docstring for the rules).

    With ``cursor_line`` (1-based) a current file too big for half the budget is attached as the lines
    around the cursor instead of its head.
    """
    if budget_tokens <= 0:
        raise InvalidQueryError(f"The context budget must be a positive number of tokens (got {budget_tokens}).")
    count = count_tokens or estimate_tokens
    header = f"Context from the project {sources.project_name}, attached by Quillpad (excerpts may be partial):"
    header_tokens = count(header + _SEPARATOR)
    fitter = _Fitter(budget_tokens, count, budget_tokens - header_tokens)
    if fitter.remaining <= 0:
        fitter.full = True

    candidates: list[ContextItem] = []
    open_texts: dict[str, str] = {}
    whole_files: set[str] = set()
    if selection:
        candidates.append(_item("selection", "selection", selection, current_file, selection_lines))
    if current_file:
        text = current_text
        if text is None:
            content = sources.read_file(current_file)
            if isinstance(content, NotText):
                fitter.dropped.append(f"The current file {current_file} cannot be attached because {content.reason}.")
            else:
                text = content.text
        if text is not None:
            open_texts[current_file] = text
            if not selection:
                whole = _item("file", current_file, text, current_file)
                if cursor_line is not None and fitter.cost(whole) > CURRENT_FILE_SHARE * fitter.remaining:
                    candidates.append(_around_cursor(current_file, text, cursor_line))
                else:
                    candidates.append(whole)
                    whole_files.add(current_file)

    for mention in sources.resolve_mentions(message):
        if mention.problem is not None or mention.path is None:
            fitter.dropped.append(mention.problem or f"@{mention.raw} cannot be attached.")
            continue
        if mention.path in whole_files:
            continue
        content = sources.read_file(mention.path)
        if isinstance(content, NotText):
            fitter.dropped.append(f"@{mention.raw} cannot be attached because {content.reason}.")
            continue
        open_texts[mention.path] = content.text
        whole_files.add(mention.path)
        candidates.append(_item("mention", f"@{mention.path}", content.text, mention.path))

    if message.strip():
        candidates += _chunk_candidates(sources.search(message, SEARCH_DEPTH), whole_files)
    changes = sources.changes()
    if changes:
        candidates.append(_item("changes", "changes since your last message", changes))

    for candidate in candidates:
        fitter.offer(candidate)

    if sources.has_files:
        empty_map = _item("repo_map", "repo map", "")
        room = fitter.remaining - fitter.cost(empty_map)
        if not fitter.full and room >= MIN_REPO_MAP_TOKENS:
            text = sources.repo_map(message, list(open_texts), open_texts, room, count)
            if text:
                fitter.offer(_item("repo_map", "repo map", text))
        else:
            fitter.dropped.append(f"repo map did not fit in the {budget_tokens:,}-token context budget.")

    items = fitter.items
    total = header_tokens + sum(item.tokens for item in items) if items else 0
    return AssembledContext(items, total, fitter.dropped, header, header_tokens, budget_tokens)
