"""``quillpad math``: check a worked solution from a file, or have a model explain a problem with checked steps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli.common import SubParsers
from app.core.errors import QuillpadError
from app.core.mathcheck import MATH_INSTRUCTION, CheckOptions, report_text, verify_solution
from app.core.text_files import load_text_file


def add_parser(sub: SubParsers) -> None:
    """Register ``math check`` and ``math steps`` on the main parser."""
    math = sub.add_parser("math", help="check worked solutions step by step with SymPy")
    actions = math.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="mark each step of a worked solution in a Markdown/LaTeX file")
    check.add_argument("file", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument("--limit", type=float, default=2.0, help="seconds allowed per SymPy call (default 2)")
    check.set_defaults(handler=run_check)
    steps = actions.add_parser("steps", help="a model's step-by-step solution, each step checked")
    steps.add_argument("problem", metavar="PROBLEM")
    steps.add_argument("--model", required=True, help="path to a .gguf file")
    steps.add_argument("--max-tokens", type=int, default=1024, help="longest answer, in tokens (default 1024)")
    steps.add_argument("--seed", type=int, help="seed for a reproducible reply")
    steps.add_argument(
        "--no-think", dest="thinking", action="store_false", default=None, help="answer without thinking"
    )
    steps.add_argument("--json", action="store_true", help="print one JSON object")
    steps.set_defaults(handler=run_steps)


def _read(path: str) -> str:
    if not Path(path).is_file():
        raise QuillpadError(f"{path} is not a file; give the Markdown or LaTeX file with the worked solution.")
    return load_text_file(path).text


def run_check(args: argparse.Namespace) -> int:
    """Print each step's mark; exit 1 when a step or the answer is wrong."""
    if args.limit <= 0:
        raise QuillpadError("Use a --limit above 0 seconds.")
    report = verify_solution(_read(args.file), options=CheckOptions(limit=args.limit))
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(report_text(report))
    return 1 if report.first_wrong is not None or report.answer.badge == "wrong" else 0


def run_steps(args: argparse.Namespace) -> int:
    """Load the model, ask for a step-by-step solution, print it and its checked steps."""
    from app.core.engine import ChatMessage, ChatRequest, Done, EngineError, EngineOwner

    if not args.problem.strip():
        raise QuillpadError("Give a problem, for example: quillpad math steps --model M.gguf 'Solve 2x + 3 = 7'.")
    messages = (ChatMessage("user", f"{args.problem}\n\n{MATH_INSTRUCTION}"),)
    answer = ""
    with EngineOwner() as engine:
        engine.load(args.model)
        request = ChatRequest(messages, thinking=args.thinking, max_tokens=args.max_tokens, seed=args.seed)
        for event in engine.chat(request):
            if isinstance(event, Done):
                answer = event.answer
            elif isinstance(event, EngineError):
                raise QuillpadError(event.message)
    report = verify_solution(answer, problem=args.problem)
    if args.json:
        print(json.dumps({"answer": answer, "check": report.to_dict()}, indent=2, ensure_ascii=False))
    else:
        print(answer.strip() + "\n\n" + report_text(report))
    return 0
