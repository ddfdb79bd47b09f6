"""``quillpad sandbox``: what the sandbox isolates here, and running a Python file in it."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from app.cli.common import SubParsers, notice
from app.core.errors import QuillpadError
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.probes import BASIC, PROBES, check_isolation
from app.core.sandbox.runner import SandboxLimits, run_python


def add_parser(sub: SubParsers) -> None:
    """Register ``sandbox check`` and ``sandbox run`` on the main parser."""
    sandbox = sub.add_parser("sandbox", help="what the sandbox isolates on this machine; run a Python file in it")
    actions = sandbox.add_subparsers(title="actions", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="run small hostile programs and say what was blocked")
    check.add_argument("--all", action="store_true", help="also the bad inputs (fork bomb, full disk, …)")
    check.add_argument("--json", action="store_true", help="print one JSON list")
    check.set_defaults(handler=run_check)
    run = actions.add_parser("run", help="run a Python file in the sandbox and print what it printed")
    run.add_argument("file", help="the Python file (run alone in an empty folder)")
    run.add_argument("--timeout", type=float, default=30.0, help="seconds before it is stopped (default 30)")
    run.add_argument(
        "--unsafe-no-isolation",
        action="store_true",
        help="run with limits only where this system cannot isolate code (it could read your files)",
    )
    run.set_defaults(handler=run_file)


def run_check(args: argparse.Namespace) -> int:
    """Print the isolation mode and each probe; exit 0 when everything run was blocked."""
    checks = check_isolation([probe.name for probe in PROBES] if args.all else BASIC)
    if args.json:
        print(json.dumps([asdict(check) for check in checks]))
    else:
        for check in checks:
            print(f"{'ok' if check.ok else 'FAILED':6} {check.name}: {check.detail}")
    return 0 if all(check.ok for check in checks) else 1


def run_file(args: argparse.Namespace) -> int:
    """Run the file; its exit code is the command's (the isolation line goes to stderr)."""
    try:
        code = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise QuillpadError(f"Cannot read {args.file} ({err}); give a readable Python file.") from None
    limits = SandboxLimits(wall_seconds=args.timeout, cpu_seconds=max(1, int(args.timeout)))
    try:
        result = run_python(code, limits=limits, allow_unisolated=args.unsafe_no_isolation)
    except IsolationUnavailable as err:
        raise QuillpadError(f"{err} To run it anyway, pass --unsafe-no-isolation.") from None
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    notice(f"{result.summary()} {result.isolation_text}")
    for note in result.notes:
        notice(note)
    return result.exit_code if result.exit_code is not None else 1
