"""``quillpad index``, ``search`` and ``context``: the project index from the terminal.

Each command first brings the project's index up to date (the first run
indexes everything; later runs read only what changed), using the same
index file in the data folder as the app.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.cli.common import SubParsers, notice
from app.core.paths import app_paths
from app.core.project import IndexStats, InvalidQueryError, Project, SearchHit
from app.core.project.model_tokens import model_token_counter
from app.core.project.query import query_terms
from app.core.project.textread import human_size

PREVIEW_LINES = 4


def add_parser(sub: SubParsers) -> None:
    """Register ``index``, ``search`` and ``context`` on the main parser."""
    index = sub.add_parser(
        "index",
        help="build or update a project folder's search index",
        description="Index the text files of DIR (respecting .gitignore), or update the index with what changed.",
    )
    index.add_argument("dir", metavar="DIR", help="project folder")
    index.add_argument("--json", action="store_true", help="print one JSON object")
    index.set_defaults(handler=run_index)

    search = sub.add_parser(
        "search",
        help="search a project folder's index",
        description="Print the chunks of DIR that best answer QUERY, with their path, line range, whether they "
        "hold a definition the query names, and why each was chosen.",
    )
    search.add_argument("dir", metavar="DIR", help="project folder")
    search.add_argument("query", metavar="QUERY", help="words to look for")
    search.add_argument("--k", type=int, default=10, help="number of results (default 10)")
    search.add_argument("--json", action="store_true", help="print one JSON array")
    search.set_defaults(handler=run_search)

    context = sub.add_parser(
        "context",
        help="print the project context that would be attached to a message",
        description="Print exactly the context block Quillpad would send with QUERY as the message; "
        "what did not fit is listed on stderr.",
    )
    context.add_argument("dir", metavar="DIR", help="project folder")
    context.add_argument("query", metavar="QUERY", help="the message")
    context.add_argument("--budget", type=int, required=True, metavar="TOKENS", help="token budget for the context")
    context.add_argument("--file", help="the current file (relative to DIR or absolute)")
    context.add_argument("--selection", help="selected text to attach")
    context.add_argument("--model", help="count tokens with this GGUF model's tokenizer (default: an estimate)")
    context.add_argument("--json", action="store_true", help="print the items and what was dropped as JSON")
    context.set_defaults(handler=run_context)


@contextmanager
def _opened(folder: str) -> Iterator[tuple[Project, IndexStats]]:
    """The project at ``folder`` with its index brought up to date; closed on leaving."""
    with Project(Path(folder), app_paths().data_dir) as project:
        stats = project.open()
        if project.notice:
            notice(project.notice)
        yield project, stats


def _stats_text(root: Path, stats: IndexStats) -> str:
    rate = f", {stats.added / stats.seconds:,.0f} files/s" if stats.added and stats.seconds > 0 else ""
    return "\n".join(
        [
            f"Project  {root}",
            f"Files    {stats.files:,}",
            f"Chunks   {stats.chunks:,}",
            f"Bytes    {stats.bytes:,} ({human_size(stats.bytes)})",
            f"Seconds  {stats.seconds:.2f}{rate}",
            f"Changes  {stats.added:,} added, {stats.updated:,} updated, {stats.removed:,} removed, "
            f"{stats.unchanged:,} unchanged",
            f"Skipped  {stats.skipped_text() or 'nothing'}",
        ]
    )


def run_index(args: argparse.Namespace) -> int:
    """Build or update the index and print its size and how long it took."""
    with _opened(args.dir) as (project, stats):
        if args.json:
            print(json.dumps({"root": str(project.root), "index": str(project.index_path), **stats.to_dict()}))
        else:
            print(_stats_text(project.root, stats))
    return 0


def _hit_dict(hit: SearchHit) -> dict[str, object]:
    return {
        "path": hit.path,
        "start_line": hit.start_line,
        "end_line": hit.end_line,
        "score": round(hit.score, 4),
        "definition": hit.is_definition,
        "definitions": list(hit.definitions),
        "reasons": list(hit.reasons),
        "text": hit.text,
    }


def run_search(args: argparse.Namespace) -> int:
    """Print the best-matching chunks."""
    if args.k < 1:
        raise InvalidQueryError(f"Use --k of at least 1 (got {args.k}).")
    if not query_terms(args.query):
        raise InvalidQueryError("The query has no words to search for; give a word or two.")
    with _opened(args.dir) as (project, _):
        hits = project.search(args.query, args.k)
    if args.json:
        print(json.dumps([_hit_dict(hit) for hit in hits], indent=2))
        return 0
    if not hits:
        print("No matches.")
    for rank, hit in enumerate(hits, start=1):
        mark = f"  [definition: {', '.join(hit.definitions)}]" if hit.is_definition else ""
        print(f"{rank:>2}. {hit.path}:{hit.start_line}-{hit.end_line}  (score {hit.score:.2f}){mark}")
        if hit.reasons:
            print(f"      why: {'; '.join(hit.reasons)}")
        lines = [line for line in hit.text.split("\n") if line.strip()][:PREVIEW_LINES]
        for line in lines:
            print("      " + (line if len(line) <= 110 else line[:109] + "…"))
    return 0


def run_context(args: argparse.Namespace) -> int:
    """Print the exact context block for a message; what was dropped goes to stderr."""
    if args.budget < 1:
        raise InvalidQueryError(f"Use --budget of at least 1 token (got {args.budget}).")
    count = model_token_counter(Path(args.model)) if args.model else None
    with _opened(args.dir) as (project, _):
        context = project.assemble_context(
            args.query, current_file=args.file, selection=args.selection, budget_tokens=args.budget, count_tokens=count
        )
    if args.json:
        items = [
            {
                "kind": i.kind,
                "label": i.label,
                "tokens": i.tokens,
                "truncated": i.truncated,
                "reasons": list(i.reasons),
                "definitions": list(i.definitions),
            }
            for i in context.items
        ]
        print(
            json.dumps(
                {
                    "total_tokens": context.total_tokens,
                    "budget_tokens": args.budget,
                    "items": items,
                    "dropped": context.dropped,
                    "text": context.render(),
                },
                indent=2,
            )
        )
        return 0
    sys.stdout.write(context.render() + ("\n" if context.items else ""))
    counted = f"counted by {Path(args.model).name}" if args.model else "estimated"
    summary = f"{len(context.items)} items, {context.total_tokens:,} of {args.budget:,} tokens ({counted})"
    notice(f"{summary}.")
    for item in context.items:
        notice(f"attached {item.label}: {item.why or item.kind}")
    for reason in context.dropped:
        notice(f"left out: {reason}")
    return 0
