"""The repository map: files and their definitions, most relevant first, within a token budget.

Relevance adds up from what is known about the question and the open files:
- the open files themselves, and files in the same folders;
- files defining names that the open files use (what the code in front of
  the user calls);
- files whose chunks match the question (bm25 rank) or that define a name
  the question mentions;
- a small prior for files with many definitions and shallow paths, so a
  map without a question still starts with the project's main modules.
Files are then listed in that order, each with its outline (members
indented under their type), until the budget is spent; a file whose full
outline does not fit is shown with its top-level definitions only.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence

from app.core.project.index import IndexStore
from app.core.project.query import build_match, query_terms
from app.core.project.symbols import Symbol
from app.core.project.tokens import TokenCounter, estimate_tokens

_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]{2,}\b")
MAX_USED_NAMES = 3000
# After this many files in a row that do not fit, the rest will not either.
MAX_MISSES = 25
_FETCH = 64


def render_outline(path: str, symbols: Sequence[Symbol], *, top_level_only: bool = False) -> str:
    """One file's entry: its path, then one indented line per definition."""
    lines = [f"{path}:" if symbols else path]
    for symbol in symbols:
        if top_level_only and symbol.depth > 0:
            continue
        lines.append("  " * (symbol.depth + 1) + symbol.signature)
    return "\n".join(lines)


def rank_files(
    store: IndexStore,
    *,
    query: str = "",
    open_files: Sequence[str] = (),
    open_texts: Mapping[str, str] | None = None,
    symbol_counts: Mapping[str, int] | None = None,
) -> tuple[list[str], set[str]]:
    """Indexed files from most to least relevant, and the set that is relevant beyond the prior."""
    counts = store.symbol_counts() if symbol_counts is None else symbol_counts
    scores: dict[str, float] = defaultdict(float)
    relevant: set[str] = set()
    for path, count in counts.items():
        scores[path] += 0.5 * min(count, 20) / 20 + 0.5 / (1 + path.count("/"))

    match = build_match(query) if query else ""
    if match:
        for rank, hit in enumerate(store.search(match, 60)):
            scores[hit.path] += 10.0 / (rank + 1)
            relevant.add(hit.path)
        for path, count in store.files_defining(query_terms(query)).items():
            scores[path] += 4.0 * count
            relevant.add(path)

    folders = {path.rpartition("/")[0] for path in open_files}
    if folders:
        for path in counts:
            if path.rpartition("/")[0] in folders:
                scores[path] += 1.0
    used: set[str] = set()
    for path in open_files:
        scores[path] += 50.0
        relevant.add(path)
        text = (open_texts or {}).get(path)
        if text:
            used.update(_IDENTIFIER.findall(text[:400_000]))
    if used:
        names = sorted(used)[:MAX_USED_NAMES]
        for path, count in store.files_defining(names).items():
            if path not in open_files:
                scores[path] += min(10.0, 1.5 * count)
                relevant.add(path)
    ranked = sorted(scores, key=lambda p: (-scores[p], p))
    return ranked, relevant


def build_repo_map(
    store: IndexStore,
    *,
    query: str = "",
    open_files: Sequence[str] = (),
    open_texts: Mapping[str, str] | None = None,
    budget_tokens: int = 1024,
    count_tokens: TokenCounter | None = None,
    symbol_counts: Mapping[str, int] | None = None,
) -> str:
    """The map as text, at most ``budget_tokens`` long ("" when nothing fits or nothing is indexed)."""
    count = count_tokens or estimate_tokens
    if budget_tokens <= 0:
        return ""
    ranked, relevant = rank_files(
        store, query=query, open_files=open_files, open_texts=open_texts, symbol_counts=symbol_counts
    )
    blocks: list[str] = []
    used = 0
    misses = 0
    for start in range(0, len(ranked), _FETCH):
        batch = ranked[start : start + _FETCH]
        outlines = store.symbols(batch)
        for path in batch:
            symbols = outlines.get(path, [])
            if not symbols and path not in relevant:
                continue
            for candidate in (render_outline(path, symbols), render_outline(path, symbols, top_level_only=True)):
                cost = count(candidate + "\n")
                if used + cost <= budget_tokens:
                    blocks.append(candidate)
                    used += cost
                    misses = 0
                    break
            else:
                misses += 1
            if misses >= MAX_MISSES or budget_tokens - used < 8:
                return _fit("\n".join(blocks), blocks, budget_tokens, count)
    return _fit("\n".join(blocks), blocks, budget_tokens, count)


def _fit(text: str, blocks: list[str], budget: int, count: TokenCounter) -> str:
    """Sums of parts can differ from a real tokenizer's count of the whole: drop blocks until it fits."""
    while blocks and count(text) > budget:
        blocks.pop()
        text = "\n".join(blocks)
    return text if blocks else ""
