"""Carrying out a command's result without a window: the headless chat.

The GUI does the same steps with its own streaming: show ``message``, stream
``ask`` into the chat, hand the answer to ``then``, show the proposal in the
diff preview, and run ``background`` work on a worker thread. Here the
model's events go to an optional callback, background work runs inline, and
the proposal is returned for the caller to apply (or not).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from app.core.edits.proposal import EditProposal
from app.core.engine.events import EngineEvent
from app.core.engine.options import ChatMessage
from app.core.errors import QuillpadError
from app.core.plugins.background import BackgroundWork, CancelToken, PluginFailure
from app.core.plugins.contributions import AskOptions, CommandResult, ModelTurn
from app.core.plugins.manager import PluginManager
from app.core.plugins.model import answer_from_events
from app.core.plugins.services import ModelClient
from app.core.plugins.slash import parse_slash, unescape

MAX_FOLLOW_UPS = 4  # a ``then`` may ask again; this bounds a plugin that never stops


def settled(error: BaseException) -> CommandResult:
    """What to show for background work that raised (on the thread that carries results out).

    ``Cancelled`` becomes "Stopped.", a plugin's refusal its message, and a
    plugin's bug a notice after the plugin was turned off; anything else is
    re-raised, because it is the app's own bug.
    """
    if isinstance(error, PluginFailure):
        error.settle()
        return CommandResult(message=str(error))
    if isinstance(error, QuillpadError):
        return CommandResult(message=str(error))
    raise error


def run_inline(work: BackgroundWork, token: CancelToken | None = None) -> CommandResult:
    """Run background work on this thread (the headless runner, the CLI); errors become messages."""
    try:
        return work.run(token or CancelToken())
    except QuillpadError as err:
        return settled(err)


@dataclass
class ChatOutcome:
    """What one chat input produced, in order."""

    messages: list[str] = field(default_factory=list)  # command replies and model answers
    answers: list[str] = field(default_factory=list)  # the model's answers alone
    proposal: EditProposal | None = None


def run_result(
    result: CommandResult,
    model: ModelClient | None,
    on_event: Callable[[EngineEvent], None] | None = None,
    token: CancelToken | None = None,
    on_message: Callable[[str], None] | None = None,
) -> ChatOutcome:
    """Carry out ``result``: ask the model as often as its turns say, run its background work
    inline (``token`` stops it), collect what to show.

    ``on_message`` sees each command reply as it comes (the model's answers come through ``on_event``),
    so a caller can show them in order rather than after the last answer.
    """
    outcome = ChatOutcome()
    current = result
    for _ in range(MAX_FOLLOW_UPS + 1):
        if current.message:
            outcome.messages.append(current.message)
            if on_message is not None:
                on_message(current.message)
        if current.proposal is not None:
            outcome.proposal = current.proposal
        if current.background is not None:
            current = run_inline(current.background, token)
            continue
        turn = current.ask
        if turn is None:
            return outcome
        if model is None or not model.ready():
            raise QuillpadError("No model is loaded; load a model first.")
        answer = answer_from_events(_watched(model.stream(turn.messages, turn.options), on_event))
        outcome.messages.append(answer)
        outcome.answers.append(answer)
        if turn.then is None:
            return outcome
        current = turn.then(answer)
    raise QuillpadError("A plugin kept asking the model again and again; it was stopped.")


def _watched(events: Iterable[EngineEvent], on_event: Callable[[EngineEvent], None] | None) -> Iterator[EngineEvent]:
    for event in events:
        if on_event is not None:
            on_event(event)
        yield event


def run_chat_input(
    manager: PluginManager,
    text: str,
    history: tuple[ChatMessage, ...] = (),
    on_event: Callable[[EngineEvent], None] | None = None,
    mode: str = "chat",
    conversation_id: int | None = None,
) -> ChatOutcome:
    """One chat input (in conversation ``conversation_id``): a slash command through its plugin,
    anything else to the model."""
    if parse_slash(text) is not None:
        return run_result(manager.dispatch(text, conversation_id), manager.host.model, on_event)
    system = manager.system_prompt(mode)
    messages = ((ChatMessage("system", system),) if system else ()) + history + (ChatMessage("user", unescape(text)),)
    return run_result(CommandResult(ask=ModelTurn(messages, AskOptions())), manager.host.model, on_event)
