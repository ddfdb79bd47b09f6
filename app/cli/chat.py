"""``quillpad chat``: one conversation with a local model or a model server from the terminal."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from app.cli.chat_commands import NOT_APPLIED, cli_plugins, is_command, proposal_diff
from app.cli.common import SubParsers, add_server_options, notice, server_config
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
    from app.core.agent.permissions import Decision
    from app.core.agent.run import ToolStep
    from app.core.edits.proposal import EditProposal
    from app.core.plugins.manager import PluginManager
    from app.core.project import Project
    from app.core.settings import Settings

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
    add_server_options(chat)
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
    chat.add_argument(
        "--agent",
        action="store_true",
        help="agent mode: the model may use tools (the project's files, search, git, tests, sandbox, edits, MCP "
        "servers); every step is printed",
    )
    chat.add_argument(
        "--allow",
        metavar="TOOL,…",
        default="",
        help="acting tools the model may run without asking (others are refused); edits are never written",
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
def _open_backend(args: argparse.Namespace) -> Iterator[tuple[EngineOwner, list[str]]]:
    """The owner of the local engine with the model loaded, or of a connected model server; and notices."""
    config = server_config(args, read_timeout=args.read_timeout)
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


def _notice_printer(args: argparse.Namespace) -> Callable[[str], None]:
    def show(message: str) -> None:
        if args.json:
            print(json.dumps(event_to_dict(Notice(message))), flush=True)
        else:
            notice(message)

    return show


def _run_command(chat: InlineChat, prompt: str, turn: int, emit: EventPrinter, as_json: bool) -> None:
    """One slash command: its replies and the model's answers printed in order, a proposal as a diff."""

    def on_event(event: EngineEvent) -> None:
        emit(turn, event)

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
            notice(NOT_APPLIED)
        _print_references(proposal, turn, as_json)


def _show_prompt(text: str, turn: int, as_json: bool) -> None:
    """The exact prompt the local model evaluates (rendered by the engine itself)."""
    if as_json:
        print(json.dumps({"type": "prompt", "text": text, "turn": turn}), flush=True)
    else:
        print(f"quillpad: the prompt for turn {turn}:\n{text}", file=sys.stderr)


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
            notice(f"{key} lines {match.lines[0]}-{match.lines[1]}: {match.describe()}")


def run_chat(args: argparse.Namespace) -> int:
    """Load the model (or connect to the server), then answer each prompt in turn as one conversation.

    The conversation is a ``ChatSession`` as in the window: the same request
    building from the app's settings, plugin system prompts and context
    providers, project context (``--project``) and slash commands. It is kept
    in a scratch history, not in the app's.
    """
    emit: EventPrinter = _json_printer(sys.stdout) if args.json else _PlainPrinter(sys.stdout, sys.stderr)
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
        if args.agent:
            return _run_agent(args, session, plugins, project, settings, emit, notice)
        for turn, prompt in enumerate(args.prompts, start=1):
            try:
                if is_command(prompt):
                    _run_command(chat, prompt, turn, emit, args.json)
                    continue
                reply = chat.start(prompt)
                if args.show_prompt and owner.remote is None:
                    _show_prompt(owner.render(reply.request).text, turn, args.json)
                for event in session.stream(reply):
                    emit(turn, event)
                    if isinstance(event, EngineError):
                        if not args.json:
                            notice(event.message)
                        return 2
            except KeyboardInterrupt:
                session.stop()
                print("\nquillpad: stopped.", file=sys.stderr)
                return 130
    return 0


def _run_agent(
    args: argparse.Namespace,
    session: ChatSession,
    plugins: PluginManager,
    project: Project | None,
    settings: Settings,
    emit: object,
    notice: Callable[[str], None],
) -> int:
    """Each PROMPT answered in agent mode; steps printed as they happen. Acting tools not in ``--allow``
    are refused with a sentence, and an edit is printed as a diff, never written."""
    from app.core.agent.permissions import ApprovalRequest, allow_list
    from app.core.agent.run import AgentEnded, AgentRun, ToolStep
    from app.core.agent.setup import agent_mode, mcp_hub
    from app.core.plugins.background import CancelToken
    from app.core.plugins.project_access import ProjectAccessAdapter

    if project is not None:
        plugins.host.project = ProjectAccessAdapter(project)
    allowed = [name.strip() for name in args.allow.split(",") if name.strip()]
    permit = allow_list(allowed)

    def approver(request: ApprovalRequest, stop: CancelToken) -> Decision:
        decision = permit(request, stop)
        if decision == "deny":
            notice(
                f"{request.tool} was refused: it acts, and the CLI runs acting tools only with --allow {request.tool}."
            )
        return decision

    def reviewer(proposal: EditProposal) -> tuple[bool, str]:
        diff = proposal_diff(proposal)
        if args.json:
            print(json.dumps({"type": "proposal", "diff": diff, "applied": False}), flush=True)
        else:
            sys.stdout.write(diff)
            print(f"quillpad: {NOT_APPLIED}", file=sys.stderr)
        return False, "The edit was shown to the user but not applied: the command line never writes files."

    with mcp_hub(app_paths(), notice) as hub:
        mode = agent_mode(
            plugins, hub, lambda: settings, project.root if project is not None else None, approver, reviewer
        )
        for turn, prompt in enumerate(args.prompts, start=1):
            run = AgentRun(session, mode)
            try:
                for event in run.run(prompt):
                    if isinstance(event, ToolStep):
                        _print_step(event, turn, args.json)
                    elif isinstance(event, AgentEnded):
                        if not args.json:
                            print(flush=True)
                        if event.message:
                            notice(event.message)
                        if event.reason == "error":
                            return 2
                    else:
                        emit(turn, event)  # type: ignore[operator]
            except KeyboardInterrupt:
                run.stop()
                print("\nquillpad: stopped.", file=sys.stderr)
                return 130
    return 0


def _print_step(step: ToolStep, turn: int, as_json: bool) -> None:
    if as_json:
        record = {
            "type": "tool",
            "tool": step.call.name,
            "arguments": step.call.arguments,
            "state": step.state,
            "result_chars": step.result_chars,
            "acting": step.acting,
            "turn": turn,
        }
        print(json.dumps(record), flush=True)
    elif step.state not in ("running", "waiting"):
        print(f"[tool] {step.summary()}", flush=True)
