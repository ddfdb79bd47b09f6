"""Carrying out a plugin's ``CommandResult``: the one implementation, for every front-end.

A result may show a message, ask the model (whose answer goes to the
plugin's ``then``, which returns the next result), hand over background
work (whose own result is carried out next), and propose edits. How each
step *happens* depends on the front-end, so ``ResultRunner`` takes a
``ResultSurface``: the window streams turns into the chat panel, runs work
with its task helper and reviews proposals in the diff dialog; the headless
``InlineSurface`` (``quillpad chat``, tests) does all of it on the calling
thread. The rules live here once: the order of the steps, the bound on
follow-ups, what a stopped or failed piece of work shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from app.core.edits.proposal import EditProposal
from app.core.engine.events import EngineEvent
from app.core.engine.model_client import ModelClient, answer_from_events
from app.core.errors import QuillpadError
from app.core.plugins.background import BackgroundWork, CancelToken, PluginFailure
from app.core.plugins.contributions import CommandResult, ModelTurn
from app.core.plugins.manager import PluginManager

log = logging.getLogger(__name__)

MAX_FOLLOW_UPS = 4  # a ``then`` may ask again; this bounds a plugin that never stops
TOO_MANY_FOLLOW_UPS = "A plugin kept asking the model again and again; it was stopped."
APP_BUG = "Something went wrong; details are in the log."

Applied = Callable[[list[str]], None]  # gets the keys of the files an accepted proposal changed


def settled(error: BaseException) -> CommandResult:
    """What to show for background work that raised (on the thread that carries results out).

    ``Cancelled`` becomes "Stopped.", a plugin's refusal its message, and a
    plugin's bug a notice after the plugin was turned off; anything else is
    the app's own bug: logged, and a sentence shown, never a traceback.
    """
    if isinstance(error, PluginFailure):
        error.settle()
        return CommandResult(message=str(error))
    if isinstance(error, QuillpadError):
        return CommandResult(message=str(error))
    log.error("background work failed", exc_info=error)
    return CommandResult(message=APP_BUG)


class ResultSurface(Protocol):
    """How a front-end performs each step of a result."""

    def show(self, markdown: str) -> None:
        """Show a command's reply (Markdown) in the conversation."""
        ...

    def stream_turn(self, turn: ModelTurn, on_answer: Callable[[str], None]) -> None:
        """Ask the model, showing the reply as it streams; call ``on_answer`` with the answer
        (thinking removed) once it is complete. Not called when the reply was stopped or failed."""
        ...

    def run_background(
        self, work: BackgroundWork, token: CancelToken, on_done: Callable[[CommandResult | BaseException], None]
    ) -> None:
        """Run ``work.run(token)`` off the GUI thread (showing its title), then call ``on_done`` with
        its result or the exception it raised, on the thread that carries results out."""
        ...

    def review(self, proposal: EditProposal, on_applied: Applied | None) -> None:
        """Let the user review proposed edits (the CLI only prints them)."""
        ...


class ResultRunner:
    """Carries out results on one surface."""

    def __init__(self, surface: ResultSurface) -> None:
        self.surface = surface

    def carry_out(self, result: CommandResult, on_applied: Applied | None = None, depth: int = 0) -> None:
        """Show, ask, run, review: what ``result`` asks for, then what follows from it."""
        if result.message:
            self.surface.show(result.message)
        if result.proposal is not None and not result.proposal.empty:
            self.surface.review(result.proposal, on_applied)
        if result.background is None and result.ask is None:
            return
        if depth >= MAX_FOLLOW_UPS:
            self.surface.show(TOO_MANY_FOLLOW_UPS)
            return
        if result.background is not None:
            token = CancelToken()

            def done(outcome: CommandResult | BaseException) -> None:
                if token.cancelled:
                    self.surface.show("Stopped.")
                    return
                follow = outcome if isinstance(outcome, CommandResult) else settled(outcome)
                self.carry_out(follow, on_applied, depth + 1)

            self.surface.run_background(result.background, token, done)
            return
        turn = result.ask
        assert turn is not None

        def answered(answer: str) -> None:
            if turn.then is not None:
                self.carry_out(turn.then(answer), on_applied, depth + 1)

        self.surface.stream_turn(turn, answered)


@dataclass
class ChatOutcome:
    """What a headless run of a result produced, in order."""

    messages: list[str] = field(default_factory=list)  # command replies and model answers
    answers: list[str] = field(default_factory=list)  # the model's answers alone
    proposal: EditProposal | None = None


class InlineSurface:
    """Every step on the calling thread: the model's events go to ``on_event``, background work runs
    inline (``token`` is the caller's Stop), a proposal is kept in the outcome and never applied."""

    def __init__(
        self,
        model: ModelClient | None,
        on_event: Callable[[EngineEvent], None] | None = None,
        on_message: Callable[[str], None] | None = None,
        token: CancelToken | None = None,
    ) -> None:
        self.model = model
        self.on_event = on_event
        self.on_message = on_message
        self.token = token
        self.outcome = ChatOutcome()

    def show(self, markdown: str) -> None:
        self.outcome.messages.append(markdown)
        if self.on_message is not None:
            self.on_message(markdown)

    def stream_turn(self, turn: ModelTurn, on_answer: Callable[[str], None]) -> None:
        if self.model is None or not self.model.ready():
            raise QuillpadError("No model is loaded; load a model first.")
        answer = answer_from_events(_watched(self.model.stream(turn.messages, turn.options), self.on_event))
        self.outcome.messages.append(answer)
        self.outcome.answers.append(answer)
        on_answer(answer)

    def run_background(
        self, work: BackgroundWork, token: CancelToken, on_done: Callable[[CommandResult | BaseException], None]
    ) -> None:
        # The caller's token is the Stop here; what the work says when stopped is shown.
        outcome: CommandResult | BaseException
        try:
            outcome = work.run(self.token or token)
        except Exception as err:  # settled by the runner, as in the window
            outcome = err
        on_done(outcome)

    def review(self, proposal: EditProposal, on_applied: Applied | None) -> None:
        self.outcome.proposal = proposal


def _watched(events: Iterable[EngineEvent], on_event: Callable[[EngineEvent], None] | None) -> Iterator[EngineEvent]:
    for event in events:
        if on_event is not None:
            on_event(event)
        yield event


def run_result(
    result: CommandResult,
    model: ModelClient | None,
    on_event: Callable[[EngineEvent], None] | None = None,
    token: CancelToken | None = None,
    on_message: Callable[[str], None] | None = None,
) -> ChatOutcome:
    """Carry out ``result`` headless and collect what it showed (``on_message`` sees each reply as it comes)."""
    surface = InlineSurface(model, on_event, on_message, token)
    ResultRunner(surface).carry_out(result)
    return surface.outcome


def run_command(
    manager: PluginManager,
    text: str,
    on_event: Callable[[EngineEvent], None] | None = None,
    conversation_id: int | None = None,
    token: CancelToken | None = None,
    on_message: Callable[[str], None] | None = None,
) -> ChatOutcome:
    """One slash command typed in chat ``conversation_id``, run headless with the manager's model."""
    return run_result(manager.dispatch(text, conversation_id), manager.host.model, on_event, token, on_message)
