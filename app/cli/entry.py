"""The ``quillpad`` command: the GUI by default, a sub-command per capability.

Each command group is a module of this package with an ``add_parser``
registered here. Every sub-command prints a one-line reason on stderr and
exits 2 for input it refuses; no traceback reaches the user (it goes to the
log file).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from app.cli import gui
from app.cli.common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_REFUSED, notice
from app.core.errors import QuillpadError
from app.core.logging_setup import configure_logging
from app.core.paths import app_paths

log = logging.getLogger(__name__)


def _version_text() -> str:
    from app.core.versions import version_info

    return "\n".join(version_info().lines())


class _VersionAction(argparse.Action):
    """Prints versions lazily: importing llama.cpp is not free."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print app and llama.cpp versions and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        print(_version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(
        prog="quillpad",
        description="A desktop coding and math assistant running Qwen3 GGUF models locally. "
        "Run without a command to open the app.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--model", help="GGUF model to load when the app opens")
    parser.set_defaults(handler=gui.cmd_gui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    from app.cli import (
        bench,
        chat,
        complete,
        evaluate,
        git,
        inspect,
        math,
        models,
        plugins,
        project,
        refs,
        sandbox,
        testing,
        tools,
    )

    inspect.add_parser(sub)
    gui.add_parser(sub)
    chat.add_parser(sub)
    complete.add_parser(sub)
    project.add_parser(sub)
    testing.add_parser(sub)
    plugins.add_parser(sub)
    bench.add_parser(sub)
    git.add_parser(sub)
    models.add_parser(sub)
    math.add_parser(sub)
    evaluate.add_parser(sub)
    refs.add_parser(sub)
    sandbox.add_parser(sub)
    tools.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quillpad`` console script."""
    paths = app_paths()
    configure_logging(paths)
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if argv[:1] == ["test"] and "--" in argv:  # the rest goes to pytest untouched
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if passthrough:
        args.passthrough = passthrough
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except QuillpadError as err:
        notice(str(err))
        return EXIT_REFUSED
    except KeyboardInterrupt:
        notice("interrupted.")
        return EXIT_INTERRUPTED
    except Exception:
        log.exception("unexpected error in %s", getattr(args.handler, "__name__", "command"))
        notice(f"an unexpected error stopped the command; details are in {paths.log_file}.")
        return EXIT_ERROR
