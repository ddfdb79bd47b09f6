"""What every command group of ``quillpad`` shares: exit codes, the sub-command table, notices, the server choice."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.core.remote.config import RemoteConfig

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


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """``--server`` or ``--profile``, ``--api-key`` and ``--ca-file``: what ``server_config`` reads."""
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--server",
        metavar="URL",
        help="an OpenAI-compatible model server (vLLM, llama-server), e.g. http://127.0.0.1:8080/v1",
    )
    where.add_argument(
        "--profile", metavar="NAME", help="a connection profile saved in the app's settings (its server, model, key)"
    )
    parser.add_argument("--api-key", help="the server's API key (better: QUILLPAD_API_KEY, kept out of shell history)")
    parser.add_argument("--ca-file", help="a certificate authority to trust for an https:// server")


def server_config(args: argparse.Namespace, *, read_timeout: float | None = None) -> RemoteConfig | None:
    """The server named by ``--server`` or a remote ``--profile``; ``None`` for a local GGUF.

    A key comes from ``--api-key``, then the environment, then the keyring
    (the profile's own key, or for ``--server`` one saved for that address).
    Imported late: commands without a server stay quick to start.
    """
    if not args.server and not args.profile:
        return None
    from app.core.paths import app_paths
    from app.core.remote.config import API_KEY_ENV
    from app.core.remote.keys import KeyStore
    from app.core.remote.profiles import chosen_server
    from app.core.settings import load_settings

    return chosen_server(
        load_settings(app_paths()).settings.connections,
        KeyStore(),
        server=args.server,
        profile=args.profile,
        model=args.model,
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        read_timeout=read_timeout,
        ca_file=args.ca_file,
    )
