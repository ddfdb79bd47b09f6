"""The desktop app from the command line: the window (no sub-command), ``screenshot`` and ``selftest``.

Qt is imported only inside these commands, so every other command starts without it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.cli.common import EXIT_ERROR, EXIT_OK, SubParsers


def add_parser(sub: SubParsers) -> None:
    """Register ``screenshot`` and ``selftest`` (the window itself is the main parser's default)."""
    for name, handler, help_text in (
        ("screenshot", cmd_screenshot, "save a PNG of the main window after optional steps"),
        ("selftest", cmd_selftest, "open the window, optionally load a model and stream a reply; exit 0 if all worked"),
    ):
        scripted = sub.add_parser(name, help=help_text)
        if name == "screenshot":
            scripted.add_argument("--out", required=True, help="PNG file to write")
        scripted.add_argument("--model", dest="model_file", help="GGUF model to load")
        scripted.add_argument("--open", help="file to open in the editor")
        scripted.add_argument("--prompt", help="message to send (needs --model)")
        scripted.set_defaults(handler=handler)


def cmd_gui(args: argparse.Namespace) -> int:
    """Start the desktop app (imports Qt only here)."""
    from app.ui.shell.application import run_gui

    return run_gui(model=args.model)


def cmd_screenshot(args: argparse.Namespace) -> int:
    """Save a picture of the whole window after the requested steps."""
    return _scripted(args, Path(args.out))


def cmd_selftest(args: argparse.Namespace) -> int:
    """The same steps without a picture; exit 0 only if every step worked."""
    return _scripted(args, None)


def _scripted(args: argparse.Namespace, out: Path | None) -> int:
    from app.ui.shell.scripted_session import run_scripted_session

    steps = run_scripted_session(out=out, model=args.model_file, open_file=args.open, prompt=args.prompt)
    for step in steps:
        print(f"{'ok' if step.ok else 'FAILED':6} {step.name}: {step.detail}")
    sandbox_ok = True
    if out is None:  # selftest: also what the sandbox isolates on this machine
        from app.core.sandbox.probes import check_isolation

        for check in check_isolation():
            print(f"{'ok' if check.ok else 'FAILED':6} {check.name}: {check.detail}")
            sandbox_ok = sandbox_ok and check.ok
    return EXIT_OK if steps and all(step.ok for step in steps) and sandbox_ok else EXIT_ERROR
