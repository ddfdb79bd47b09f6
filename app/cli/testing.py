"""``quillpad test``: run a project's pytest suite and summarise it."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from app.cli.common import SubParsers, notice
from app.core.testing.runner import TestRun


def add_parser(sub: SubParsers) -> None:
    """Register ``test`` on the main parser."""
    test = sub.add_parser(
        "test",
        help="run a project's tests with its own Python",
        description="Runs pytest in DIR with the project's virtual environment (if it has one). "
        "Arguments after -- go to pytest.",
    )
    test.add_argument("dir", help="the project folder")
    test.add_argument("--json", action="store_true", help="print one JSON object")
    test.add_argument("--timeout", type=float, default=600.0, help="seconds before the run is stopped (default 600)")
    test.add_argument("--python", help="interpreter to use instead of the project's")
    # Arguments after "--" are split off by app.cli.entry.main before parsing.
    test.set_defaults(handler=run_tests, passthrough=[])


def run_tests(args: argparse.Namespace) -> int:
    """Run the tests; exit 0 when all passed, 1 when some failed."""
    run = TestRun(args.dir, args.passthrough, python=args.python, timeout=args.timeout)
    result = run.run()
    counts = result.report.counts
    if args.json:
        print(
            json.dumps(
                {
                    "counts": counts,
                    "seconds": round(result.seconds, 3),
                    "python": asdict(result.python),
                    "exit_code": result.exit_code,
                    "timed_out": result.timed_out,
                    "message": result.message,
                    "problems": [asdict(case) for case in result.report.problems],
                },
                indent=2,
            )
        )
    else:
        total = sum(counts.values())
        parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
        print(f"{total} tests: {parts or 'none ran'} ({result.seconds:.1f} s, {result.python.source})")
        for case in result.report.problems:
            where = f"{case.file}:{case.line}" if case.line else case.file
            first_line = case.message.splitlines()[0] if case.message else ""
            print(f"{case.outcome.upper()} {case.nodeid} ({where}): {first_line}")
        if result.message:
            notice(result.message)
    return 0 if result.exit_code == 0 else 1
