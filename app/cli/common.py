"""What every command group of ``quillpad`` shares: exit codes, the sub-command table, notices."""

from __future__ import annotations

import argparse
import sys
from typing import Any, Protocol

EXIT_OK = 0
EXIT_ERROR = 1  # the command ran and found a failure (a failing test, a wrong step), or crashed
EXIT_REFUSED = 2  # the input was refused before anything ran
EXIT_INTERRUPTED = 130  # Ctrl+C, as a shell reports SIGINT


class SubParsers(Protocol):
    """The table of sub-commands a command group adds itself to (what ``add_subparsers`` returns)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        """A new sub-command ``name``; ``kwargs`` as for ``ArgumentParser`` (``help``, ``description``…)."""
        ...


def notice(message: str) -> None:
    """One line for the user on stderr, prefixed like every refusal, so stdout stays clean for scripts."""
    print(f"quillpad: {message}", file=sys.stderr)


def progress(message: str) -> None:
    """A progress line on stderr (flushed at once: a long command shows where it is)."""
    print(f"... {message}", file=sys.stderr, flush=True)
