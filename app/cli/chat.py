"""``quillpad chat``: one conversation with a local model or a model server from the terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.chat_commands import NOT_APPLIED, ChatCommands, is_command, proposal_diff
from app.cli.common import SubParsers, server_config
from app.core.engine import (
    AnswerText,
    ChatMessage,
    ChatRequest,
    Done,
    Engine,
    EngineError,
    EngineEvent,
    LoadOptions,
    Notice,
    ThinkingText,
)
from app.core.engine.backend import ChatBackend
from app.core.engine.events import event_to_dict
from app.core.models.default_model import default_local_model
from app.core.paths import app_paths
from app.core.settings import load_settings

if TYPE_CHECKING:
    from app.core.edits.proposal import EditProposal

DIM, RESET = "\033[2m", "\033[0m"


def add_parser(sub: SubParsers) -> None:
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
    chat.set_defaults(handler=run_chat)


# Prints one engine event of the numbered turn.
EventPrinter = Callable[[int, EngineEvent], None]


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


def _json_printer(out: TextIO) -> EventPrinter:
    def emit(turn: int, event: EngineEvent) -> None:
        out.write(json.dumps({**event_to_dict(event), "turn": turn}) + "\n")
        out.flush()

    return emit


@contextlib.contextmanager
def _open_backend(args: argparse.Namespace) -> Iterator[tuple[ChatBackend, list[str]]]:
    """The local engine with the model loaded, or a connected model server; and notices."""
    config = server_config(args)
    if config is not None:
        from app.core.remote import RemoteBackend

        with RemoteBackend(config) as remote:
            connected = remote.connect()
            yield remote, [f"Connected to {connected.display_name}."]
        return
    model, notices = args.model, []
    if not model:  # the model the app loaded last, else the starter, with a notice naming it
        chosen = default_local_model(load_settings(app_paths()).settings)
        model, notices = str(chosen.path), [chosen.notice]
    options = LoadOptions(context_length=args.ctx, threads=args.threads, gpu_layers=args.gpu_layers)
    with Engine() as engine:
        loaded = engine.load(model, options)
        yield engine, notices + list(loaded.warnings)


def _notice_printer(args: argparse.Namespace) -> Callable[[str], None]:
    def notice(message: str) -> None:
        if args.json:
            print(json.dumps(event_to_dict(Notice(message))), flush=True)
        else:
            print(f"quillpad: {message}", file=sys.stderr)

    return notice


def _run_command(commands: ChatCommands, prompt: str, turn: int, emit: EventPrinter, as_json: bool) -> list[str]:
    """One slash command: its replies and the model's answers printed in order, a proposal as a diff."""

    def on_event(event: EngineEvent) -> None:
        emit(turn, event)

    def on_message(text: str) -> None:
        if as_json:
            print(json.dumps({"type": "message", "text": text, "turn": turn}), flush=True)
        else:
            print(text, flush=True)

    outcome = commands.run(prompt, on_event, on_message)
    proposal = outcome.proposal
    if proposal is not None and not proposal.empty:
        diff = proposal_diff(proposal)
        if as_json:
            print(json.dumps({"type": "proposal", "diff": diff, "applied": False, "turn": turn}), flush=True)
        else:
            sys.stdout.write(diff)
            sys.stdout.flush()
            print(f"quillpad: {NOT_APPLIED}", file=sys.stderr)
        _print_references(proposal, turn, as_json)
    return outcome.answers


def _print_references(proposal: EditProposal, turn: int, as_json: bool) -> None:
    """Where the proposal's new code may come from, as the app's review shows it (when an index exists)."""
    from app.core.paths import app_paths
    from app.core.refs import project_exclusions
    from app.core.refs.edits import proposal_matches
    from app.core.refs.index import existing_index
    from app.core.settings import load_settings

    paths = app_paths()
    settings = load_settings(paths).settings.refs
    if not settings.enabled:
        return
    exclusions = project_exclusions(Path.cwd())  # the folder quillpad runs in is the user's own code
    with existing_index(paths) as index:
        if index is None:
            return
        found = proposal_matches(
            lambda text, name: index.check(text, filename=name, exclusions=exclusions, min_tokens=settings.min_tokens),
            proposal,
        )
    for key, match in found:
        if as_json:
            print(json.dumps({"type": "reference", "file": key, **match.to_dict(), "turn": turn}), flush=True)
        else:
            print(f"quillpad: {key} lines {match.lines[0]}-{match.lines[1]}: {match.describe()}", file=sys.stderr)


def run_chat(args: argparse.Namespace) -> int:
    """Load the model (or connect to the server), then answer each prompt in turn as one conversation."""
    emit: EventPrinter = _json_printer(sys.stdout) if args.json else _PlainPrinter(sys.stdout, sys.stderr)
    messages: tuple[ChatMessage, ...] = ()
    if args.system:
        messages = (ChatMessage("system", args.system),)
    with _open_backend(args) as (engine, notices):
        for warning in notices:
            if args.json:
                emit(0, Notice(warning))
            else:
                print(f"quillpad: {warning}", file=sys.stderr)
        commands: ChatCommands | None = None
        for turn, prompt in enumerate(args.prompts, start=1):
            if is_command(prompt):
                if commands is None:  # plugins are found only when a command needs them
                    commands = ChatCommands(
                        engine,
                        thinking=args.thinking,
                        seed=args.seed,
                        max_tokens=args.max_tokens,
                        file=args.file,
                        notice=_notice_printer(args),
                    )
                try:
                    answers = _run_command(commands, prompt, turn, emit, args.json)
                except KeyboardInterrupt:
                    engine.stop()
                    print("\nquillpad: stopped.", file=sys.stderr)
                    return 130
                messages += (ChatMessage("user", prompt),)
                if answers:  # the model's part stays in the conversation, as in the app's chat
                    messages += (ChatMessage("assistant", answers[-1]),)
                continue
            messages += (ChatMessage("user", prompt),)
            request = ChatRequest(messages, thinking=args.thinking, max_tokens=args.max_tokens, seed=args.seed)
            answer = ""
            try:
                for event in engine.chat(request):
                    emit(turn, event)
                    if isinstance(event, Done):
                        answer = event.answer
                    elif isinstance(event, EngineError):
                        if not args.json:
                            print(f"quillpad: {event.message}", file=sys.stderr)
                        return 2
            except KeyboardInterrupt:
                engine.stop()
                print("\nquillpad: stopped.", file=sys.stderr)
                return 130
            messages += (ChatMessage("assistant", answer),)
    return 0
