"""A chat session driven on the calling thread: what ``quillpad chat`` is made of.

``InlineChat`` sends a message and streams the reply in place, and carries
out slash commands with the same ``ResultRunner`` as the window, through
``SessionSurface``: a command's model turn streams through the session (so
it is part of the conversation, as in the window), its background work runs
inline, and a proposed edit is handed back, never applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from app.core.chat.commands import ChatOutcome, InlineSurface, ResultRunner
from app.core.chat.project_context import project_attachments
from app.core.chat.session import ChatSession, Reply
from app.core.conversations import Attachment
from app.core.engine.events import Done, EngineError, EngineEvent
from app.core.engine.model_client import ModelReplyError, answer_from_events
from app.core.plugins.background import CancelToken
from app.core.plugins.contributions import ModelTurn
from app.core.plugins.records import UnknownCommandError
from app.core.plugins.slash import parse_slash


class SessionSurface(InlineSurface):
    """Carries out each step of a result on this thread, streaming turns through ``session``
    (background work and proposals as ``InlineSurface`` does)."""

    def __init__(
        self,
        session: ChatSession,
        on_event: Callable[[EngineEvent], None],
        on_message: Callable[[str], None],
        token: CancelToken | None = None,
    ) -> None:
        super().__init__(None, on_event, on_message, token)
        self.session = session

    def stream_turn(self, turn: ModelTurn, on_answer: Callable[[str], None]) -> None:
        reply = self.session.start_reply(turn.messages, turn.options)
        final: EngineEvent | None = None
        for event in self.session.stream(reply):
            if self.on_event is not None:
                self.on_event(event)
            final = event
        if isinstance(final, EngineError):
            raise ModelReplyError(final.message)
        if isinstance(final, Done) and final.reason != "cancelled":
            answer = answer_from_events([final])
            self.outcome.messages.append(answer)
            self.outcome.answers.append(answer)
            on_answer(answer)


class InlineChat:
    """``session`` with its replies streamed where they are asked for."""

    def __init__(self, session: ChatSession) -> None:
        self.session = session

    def start(self, text: str, attachments: Sequence[Attachment] = ()) -> Reply:
        """Send ``text`` with ``attachments`` and the project context (when the session has a project)."""
        project = self.session.project_preview(text)
        return self.session.send(text, (*attachments, *project_attachments(project)))

    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> Iterator[EngineEvent]:
        """``start``, then stream the reply here."""
        return self.session.stream(self.start(text, attachments))

    def command(
        self,
        text: str,
        on_event: Callable[[EngineEvent], None],
        on_message: Callable[[str], None],
        token: CancelToken | None = None,
    ) -> ChatOutcome:
        """Run a slash command and carry its result out; raises ``QuillpadError`` (an unknown command
        names the available ones)."""
        manager = self.session.plugins
        call = parse_slash(text)
        assert call is not None
        names = [f"/{entry.command.name}" for entry in manager.slash_commands()] if manager else []
        if manager is None or f"/{call.name}" not in names:
            raise UnknownCommandError(f"There is no command /{call.name}; the commands are {', '.join(names)}.")
        self.session.show_user_text(text)
        result = manager.dispatch(text, self.session.conversation_id)
        surface = SessionSurface(self.session, on_event, on_message, token)
        ResultRunner(surface).carry_out(result)
        return surface.outcome
