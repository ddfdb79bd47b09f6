"""``quillpad git-message``: the commit message the model proposes for the staged changes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.cli.common import SubParsers, notice
from app.core.engine import LoadOptions
from app.core.engine.model_client import AskOptions, EngineModelClient
from app.core.engine.owner import EngineOwner
from app.core.errors import QuillpadError
from app.core.git import GIT_MISSING, diff_budget, find_repository, git_available, propose_message, staged_diff


def add_parser(sub: SubParsers) -> None:
    """Register ``git-message`` on the main parser."""
    parser = sub.add_parser(
        "git-message",
        help="print the commit message the model proposes for the staged changes",
        description="Reads the staged diff of the repository DIR is in and prints the model's commit message.",
    )
    parser.add_argument("dir", metavar="DIR", help="a folder inside the repository")
    parser.add_argument("--model", required=True, help="path to a .gguf file")
    parser.add_argument("--seed", type=int, help="seed for a reproducible message (default: random)")
    parser.add_argument("--max-tokens", type=int, default=300, help="longest message, in tokens (default: 300)")
    parser.add_argument("--ctx", type=int, help="context length in tokens")
    parser.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    parser.add_argument("--think", action="store_true", help="let the model think first (thinking is not printed)")
    parser.set_defaults(handler=run_git_message)


def run_git_message(args: argparse.Namespace) -> int:
    """Print the proposed message on stdout; notices (a summarised diff) on stderr."""
    if not git_available():
        raise QuillpadError(GIT_MISSING)
    folder = Path(args.dir)
    if not folder.is_dir():
        raise QuillpadError(f"{folder} is not a folder; pass a folder inside a git repository.")
    repo = find_repository(folder)
    if repo is None:
        raise QuillpadError(f"{folder} is not in a git repository; run git init there first.")
    diff = staged_diff(repo)
    if not diff.strip():
        raise QuillpadError(f"Nothing is staged in {repo.root}; stage changes with git add first.")
    with EngineOwner() as engine:
        loaded = engine.load(args.model, LoadOptions(context_length=args.ctx, threads=args.threads))
        client = EngineModelClient(engine, purpose="commit message")
        options = AskOptions(thinking=args.think, max_tokens=args.max_tokens, seed=args.seed)
        budget = diff_budget(loaded.context_length - args.max_tokens)
        message = propose_message(client, diff, options, budget)
    if message.notice:
        notice(message.notice)
    sys.stdout.write(message.text)
    return 0
