"""``quillpad chat``: one conversation with a local model or a model server from the terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.chat_commands import NOT_APPLIED, cli_plugins, is_command, proposal_diff
from app.core.chat import ChatSession
from app.core.chat.inline import InlineChat
from app.core.chat.project_context import ProjectContextSource, context_budget, measure_tokens_per_char
from app.core.conversations import ConversationStore
from app.core.engine import AnswerText, Done, EngineError, EngineEvent, LoadOptions, Notice, ThinkingText
from app.core.engine.events import event_to_dict
from app.core.engine.model_client import EngineModelClient
from app.core.engine.options import InvalidOptionError
from app.core.engine.owner import EngineOwner
from app.core.engine.requests import RequestDefaults
from app.core.paths import app_paths
from app.core.settings import load_settings

if TYPE_CHECKING:
    from app.core.project import Project
    from app.core.remote import RemoteConfig

DIM, RESET = "\033[2m", "\033[0m"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register ``chat`` on the main parser."""
    chat = sub.add_parser(
        "chat",
        help="chat with a GGUF model in the terminal",
        description=(
            "Each PROMPT is the next user turn of one conversation with one loaded model. A PROMPT that starts "
            "with / is a plugin's command, as in the app's chat (/help lists them); an edit it proposes is "
            "printed as a diff and never applied."
        ),
    )
    chat.add_argument("prompts", nargs="+", metavar="PROMPT")
    chat.add_argument("--model", help="path to a .gguf file; with --server or --profile, the server's model name")
    where = chat.add_mutually_exclusive_group()
    where.add_argument(
        "--server", metavar="URL", help="an OpenAI-compatible model server, e.g. http://127.0.0.1:8080/v1"
    )
    where.add_argument(
        "--profile", metavar="NAME", help="a connection profile saved in the app's settings (its server, model, key)"
    )
    chat.add_argument("--api-key", help="the server's API key (better: QUILLPAD_API_KEY, kept out of shell history)")
    chat.add_argument("--ca-file", help="a certificate authority to trust for an https:// server")
    chat.add_argument(
        "--read-timeout", type=float, help="seconds of server silence before giving up (default: the profile's, or 120)"
    )
    think = chat.add_mutually_exclusive_group()
    think.add_argument("--think", dest="thinking", action="store_true", default=None, help="let the model think first")
    think.add_argument("--no-think", dest="thinking", action="store_false", help="answer without thinking")
    chat.add_argument("--system", help="system prompt")
    chat.add_argument("--seed", type=int, help="seed for reproducible replies (default: random)")
    chat.add_argument("--max-tokens", type=int, help="longest answer, in tokens")
    chat.add_argument("--ctx", type=int, help="context length in tokens")
    chat.add_argument("--threads", type=int, help="CPU threads (default: physical cores)")
    chat.add_argument("--gpu-layers", type=int, default=0, help="layers to offload to the GPU (-1: all)")
    chat.add_argument("--json", action="store_true", help="print one JSON object per event line")
    chat.add_argument(
        "--file", type=Path, help="the document a /command works on (e.g. /gen writes at its end); default: empty"
    )
    chat.add_argument(
        "--project",
        metavar="DIR",
        help="attach context from this project folder to each message, as the app's chat does (indexed first)",
    )
    chat.add_argument(
        "--mode", help="whose plugin system prompts apply: chat, code, math… (default: the app's setting)"
    )
    chat.add_argument(
        "--show-prompt",
        action="store_true",
        help="print the exact prompt the local model evaluates for each message (JSON: a 'prompt' event)",
    )
    chat.set_defaults(handler=run_chat)


class _PlainPrinter:
    """Answer to stdout, thinking dimmed to stderr, one blank line between turns."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.dim = err.isatty()
        self._thinking_open = False

    def __call__(self, turn: int, event: EngineEvent) -> None:
        if isinstance(event, ThinkingText):
            self.err.write((DIM + event.text + RESET) if self.dim else event.text)
            self.err.flush()
            self._thinking_open = True
        elif isinstance(event, AnswerText):
            if self._thinking_open:
                self.err.write("\n")
                self._thinking_open = False
            self.out.write(event.text)
            self.out.flush()
        elif isinstance(event, Notice):
            self.err.write(f"quillpad: {event.message}\n")
        elif isinstance(event, Done):
            if self._thinking_open:
                self.err.write("\n")
                self._thinking_open = False
            self.out.write("\n" if event.reason != "cancelled" else "\n[stopped]\n")
            self.out.flush()


def _json_printer(out: TextIO) -> object:
    def emit(turn: int, event: EngineEvent) -> None:
        out.write(json.dumps({**event_to_dict(event), "turn": turn}) + "\n")
        out.flush()

    return emit


@contextlib.contextmanager
def _open_backend(args: argparse.Namespace) -> Iterator[tuple[EngineOwner, list[str]]]:
    """The owner of the local engine with the model loaded, or of a connected model server; and notices."""
    config = _server_config(args)
    with EngineOwner() as owner:
        if config is not None:
            connected = owner.connect_remote(config)
            yield owner, [f"Connected to {connected.display_name}."]
            return
        if not args.model:
            raise InvalidOptionError(
                "Name a model: --model FILE.gguf, or --server URL or --profile NAME for a model server."
            )
        options = LoadOptions(context_length=args.ctx, threads=args.threads, gpu_layers=args.gpu_layers)
        loaded = owner.load(args.model, options)
        yield owner, list(loaded.warnings)


@contextlib.contextmanager
def _opened_project(folder: str | None, notice: Callable[[str], None]) -> Iterator[Project | None]:
    """The project at ``folder`` with its index brought up to date (None without ``--project``)."""
    if folder is None:
        yield None
        return
    from app.core.project import Project

    path = Path(folder)
    if not path.is_dir():
        raise InvalidOptionError(f"{folder} is not a folder; pass the project folder to --project.")
    with Project(path, app_paths().data_dir) as project:
        project.open()
        if project.notice:
            notice(project.notice)
        yield project


def _server_config(args: argparse.Namespace) -> RemoteConfig | None:
    """The server named by ``--server`` or a remote ``--profile``; ``None`` for the local engine.

    A key comes from ``--api-key``, then the environment, then the keyring
    (the profile's own key, or for ``--server`` one saved for that address).
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
        read_timeout=args.read_timeout,
        ca_file=args.ca_file,
    )


def _notice_printer(args: argparse.Namespace) -> Callable[[str], None]:
    def notice(message: str) -> None:
        if args.json:
            print(json.dumps(event_to_dict(Notice(message))), flush=True)
        else:
            print(f"quillpad: {message}", file=sys.stderr)

    return notice


def _run_command(chat: InlineChat, prompt: str, turn: int, emit: object, as_json: bool) -> None:
    """One slash command: its replies and the model's answers printed in order, a proposal as a diff."""

    def on_event(event: EngineEvent) -> None:
        emit(turn, event)  # type: ignore[operator]

    def on_message(text: str) -> None:
        if as_json:
            print(json.dumps({"type": "message", "text": text, "turn": turn}), flush=True)
        else:
            print(text, flush=True)

    outcome = chat.command(prompt, on_event, on_message)
    proposal = outcome.proposal
    if proposal is not None and not proposal.empty:
        diff = proposal_diff(proposal)
        if as_json:
            print(json.dumps({"type": "proposal", "diff": diff, "applied": False, "turn": turn}), flush=True)
        else:
            sys.stdout.write(diff)
            sys.stdout.flush()
            print(f"quillpad: {NOT_APPLIED}", file=sys.stderr)


def _show_prompt(text: str, turn: int, as_json: bool) -> None:
    """The exact prompt the local model evaluates (rendered by the engine itself)."""
    if as_json:
        print(json.dumps({"type": "prompt", "text": text, "turn": turn}), flush=True)
    else:
        print(f"quillpad: the prompt for turn {turn}:\n{text}", file=sys.stderr)


def run_chat(args: argparse.Namespace) -> int:
    """Load the model (or connect to the server), then answer each prompt in turn as one conversation.

    The conversation is a ``ChatSession`` as in the window: the same request
    building from the app's settings, plugin system prompts and context
    providers, project context (``--project``) and slash commands. It is kept
    in a scratch history, not in the app's.
    """
    emit = _json_printer(sys.stdout) if args.json else _PlainPrinter(sys.stdout, sys.stderr)
    notice = _notice_printer(args)
    loaded = load_settings(app_paths())
    settings = loaded.settings
    if args.mode:
        settings.chat.mode = args.mode
    with (
        _open_backend(args) as (owner, notices),
        _opened_project(args.project, notice) as project,
        tempfile.TemporaryDirectory(prefix="quillpad-chat-") as scratch,
        ConversationStore(Path(scratch) / "conversation.sqlite3") as store,
    ):
        for warning in notices:
            notice(warning)
        defaults = lambda: RequestDefaults.from_settings(settings)  # noqa: E731
        plugins = cli_plugins(EngineModelClient(owner, defaults), loaded, file=args.file, notice=notice)
        project_context: ProjectContextSource | None = None
        if project is not None:
            context_length = owner.loaded.context_length if owner.loaded is not None else 0
            ratio = measure_tokens_per_char(owner.render) if owner.loaded is not None else None
            budget = context_budget(context_length, ratio) if ratio is not None else context_budget(context_length)
            project_context = ProjectContextSource(lambda: project, lambda: budget, notify=notice)
        session = ChatSession(
            store,
            owner,
            lambda: settings,
            plugins=plugins,
            project_context=project_context,
            on_message_sent=project_context.message_sent if project_context is not None else None,
            system=args.system,
        )
        session.thinking = args.thinking
        session.overrides.update(
            {key: value for key, value in (("max_tokens", args.max_tokens), ("seed", args.seed)) if value is not None}
        )
        chat = InlineChat(session)
        for turn, prompt in enumerate(args.prompts, start=1):
            try:
                if is_command(prompt):
                    _run_command(chat, prompt, turn, emit, args.json)
                    continue
                reply = chat.start(prompt)
                if args.show_prompt and owner.remote is None:
                    _show_prompt(owner.render(reply.request).text, turn, args.json)
                for event in session.stream(reply):
                    emit(turn, event)  # type: ignore[operator]
                    if isinstance(event, EngineError):
                        if not args.json:
                            print(f"quillpad: {event.message}", file=sys.stderr)
                        return 2
            except KeyboardInterrupt:
                session.stop()
                print("\nquillpad: stopped.", file=sys.stderr)
                return 130
    return 0
