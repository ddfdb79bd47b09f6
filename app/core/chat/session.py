"""``ChatSession``: one conversation with the model, the same behind the window and ``quillpad chat``.

The session composes a message (the typed text plus attachments kept as
structured data), keeps the conversation in the ``ConversationStore``,
builds every request from the settings in one place (``RequestDefaults``),
adds the current mode's plugin system prompt and the context of the
providers the user has on, and follows a reply from its first event to its
end (saved about once a second while it streams, so a killed app keeps it).
Stop, regenerate and edit-last work on the stored conversation.

The session does not choose a thread. A front-end either iterates
``stream(reply)`` where it likes (the CLI and tests, inline), or sends
``reply.request`` itself under ``reply.request_id`` and hands the events to
``feed`` and the last one to ``finish`` (the window, from its engine thread's
signals). Either way the same code decides what is saved and shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from app.core.conversations import ATTACHMENT_MARKER, Attachment, ConversationStore, StoredMessage
from app.core.engine import ChatMessage, ChatRequest, Done, EngineError, EngineEvent, EngineOwner, Stats
from app.core.engine.events import AnswerText, Notice, Queued, ThinkingText, queued_message
from app.core.engine.model_client import AskOptions
from app.core.engine.requests import RequestDefaults
from app.core.errors import QuillpadError
from app.core.plugins.contributions import ContextPiece
from app.core.plugins.manager import PluginManager
from app.core.project import AssembledContext
from app.core.settings import Settings

TOOL_CALL_KIND = "tool_call"  # the attachment of a stored tool result: label the tool, text the call's id
PERSIST_SECONDS = 1.0  # how often a streaming reply is saved
TITLE_LENGTH = 60
CONTEXT_PROVIDER_SECONDS = 2.0  # a slower provider is left out of that message
CONTEXT_PROVIDER_CHARS = 8000  # what all providers together may add to one message


def model_text(text: str, attachments: Sequence[Attachment]) -> str:
    """What the model reads for a user message: the text, then its attachments after a marker."""
    if not attachments:
        return text
    return text + ATTACHMENT_MARKER + "\n\n".join(a.as_markdown() for a in attachments)


def _plugin_attachment(piece: ContextPiece) -> Attachment:
    label = f"{piece.label} ({piece.source})" if piece.source else piece.label
    return Attachment("plugin", label, piece.text, piece.language)


@dataclass
class Reply:
    """A reply being written: what was asked, and what has come so far."""

    request: ChatRequest
    request_id: int  # the owner's id: ``EngineOwner.stop(request_id)`` ends this reply only
    message_id: int  # the stored assistant message
    answer: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    stats: Stats | None = None
    notices: list[str] = field(default_factory=list)
    last_saved: float = 0.0
    on_answer: Callable[[str], None] | None = None  # a plugin's follow-up


@dataclass(frozen=True)
class Update:
    """What a batch of events adds to the view."""

    thinking: str = ""
    answer: str = ""
    notices: tuple[str, ...] = ()  # e.g. the position in the queue


@dataclass(frozen=True)
class Finished:
    """How a reply ended, for the view: the note under it and its state ("", "stopped", "error")."""

    message_id: int
    note: str
    state: str
    stats: Stats | None
    crashed: str | None = None  # the engine died: what to tell the user
    follow_up: Callable[[], None] | None = None  # run it next (a plugin's ``then``), from the event loop


class ChatSession:
    """One conversation at a time; the front-end keeps the session, the session keeps the store."""

    def __init__(
        self,
        store: ConversationStore,
        owner: EngineOwner,
        settings: Callable[[], Settings],
        *,
        plugins: PluginManager | None = None,
        project_context: Callable[[str], AssembledContext | None] | None = None,
        on_message_sent: Callable[[], None] | None = None,
        system: str | None = None,
    ) -> None:
        self.store = store
        self.owner = owner
        self.settings = settings
        self.plugins = plugins
        self.project_context = project_context
        self.on_message_sent = on_message_sent
        self.system = system  # the user's own system prompt (``quillpad chat --system``)
        self.conversation_id: int | None = None
        self.thinking: bool | None = None  # None: the settings' choice
        # ChatRequest fields for every chat reply (the CLI's --max-tokens and --seed; benchmarks).
        self.overrides: dict[str, object] = {}
        self.reply: Reply | None = None
        self._editing_last = False
        # Agent mode (``app.core.agent``): the tools offered with every chat request while it is on,
        # and the acting tools the user allowed for this conversation (emptied when it changes).
        self.tools: Callable[[], tuple[dict[str, object], ...]] | None = None
        self.allowed_tools: set[str] = set()

    # -- the conversation -------------------------------------------------------

    def messages(self) -> list[StoredMessage]:
        """The open conversation's messages, oldest first ([] when none is open)."""
        if self.conversation_id is None:
            return []
        return self.store.messages(self.conversation_id)

    def new(self) -> None:
        """Start an empty conversation (the old one stays in the history)."""
        self.stop()
        self.conversation_id = None
        self._editing_last = False
        self.allowed_tools = set()

    def open(self, conversation_id: int) -> list[StoredMessage]:
        """Continue a stored conversation; returns its messages (user ones with their attachments)."""
        messages = self.store.messages(conversation_id)
        self.stop()
        self.conversation_id = conversation_id
        self._editing_last = False
        self.allowed_tools = set()
        return messages

    def _ensure_conversation(self, title: str) -> int:
        if self.conversation_id is None:
            self.conversation_id = self.store.create(title[:TITLE_LENGTH].replace("\n", " "))
        return self.conversation_id

    def show_user_text(self, text: str) -> int:
        """Keep a user line that is not a message for the model (a command); returns its id."""
        return self.store.add_message(self._ensure_conversation(text), "user", text)

    # -- composing ----------------------------------------------------------------

    def project_preview(self, text: str) -> AssembledContext | None:
        """The project context ``text`` would get now (None without a project or for a command)."""
        if self.project_context is None or not text.strip() or text.startswith("/"):
            return None
        return self.project_context(text)

    def plugin_context(self, text: str) -> tuple[Attachment, ...]:
        """What the context providers the user has on add to a message about ``text``.

        A provider that raises is turned off with a notice; one slower than
        ``CONTEXT_PROVIDER_SECONDS`` is left out of this message with a notice.
        """
        if self.plugins is None:
            return ()
        off = set(self.settings().chat.context_providers_off)
        wanted = [entry.provider.id for entry in self.plugins.context_providers() if entry.provider.id not in off]
        if not wanted:
            return ()
        pieces = self.plugins.gather_context(
            text, CONTEXT_PROVIDER_CHARS, provider_ids=wanted, timeout=CONTEXT_PROVIDER_SECONDS
        )
        return tuple(_plugin_attachment(piece) for piece in pieces)

    def system_prompt(self) -> str:
        """The system prompt of a chat message: the user's own, then the plugins' for the current mode."""
        parts = [self.system or ""]
        if self.plugins is not None:
            parts.append(self.plugins.system_prompt(self.settings().chat.mode))
        return "\n\n".join(part.strip() for part in parts if part.strip())

    # -- sending --------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """Whether a reply is being written."""
        return self.reply is not None

    def send(self, text: str, attachments: Sequence[Attachment] = ()) -> Reply:
        """Store ``text`` with ``attachments`` (the user's chips and project context) and the plugins'
        context as the next user message, and start the reply. Raises ``QuillpadError``."""
        text = text.strip()
        if not text:
            raise QuillpadError("There is nothing to send; write a message first.")
        if self.reply is not None:
            raise QuillpadError("A reply is still being written; wait for it or stop it first.")
        if self._editing_last:
            self._drop_last_exchange()
            self._editing_last = False
        # A provider repeating what is attached already (codegen's current file beside its chip) adds nothing.
        present = {a.text.strip() for a in attachments}
        extra = tuple(a for a in self.plugin_context(text) if a.text.strip() not in present)
        attached = (*attachments, *extra)
        self.store.add_message(self._ensure_conversation(text), "user", text, attachments=attached)
        if self.on_message_sent is not None:
            self.on_message_sent()
        return self.start_reply()

    def history(self) -> tuple[ChatMessage, ...]:
        """The conversation as the model reads it (attachments in their messages, empty replies left out,
        tool results as ``tool`` messages naming their call)."""
        out: list[ChatMessage] = []
        for m in self.messages():
            if m.role == "tool":
                call = next((a for a in m.attachments if a.kind == TOOL_CALL_KIND), None)
                out.append(
                    ChatMessage(
                        "tool", m.content, tool_call_id=call.text if call else "", name=call.label if call else ""
                    )
                )
            elif m.role in ("system", "user", "assistant") and (m.role != "assistant" or m.content):
                content = model_text(m.content, m.attachments) if m.role == "user" else m.content
                out.append(ChatMessage(m.role, content))  # type: ignore[arg-type]  # role is one of the three
        return tuple(out)

    def add_tool_result(self, call_id: str, tool: str, text: str) -> int:
        """Keep a tool's result as the next message (the model reads it as a ``tool`` message)."""
        if self.conversation_id is None:
            raise QuillpadError("There is no conversation to add a tool result to.")
        return self.store.add_message(
            self.conversation_id, "tool", text, attachments=(Attachment(TOOL_CALL_KIND, tool, call_id),)
        )

    def build_request(
        self, messages: Sequence[ChatMessage] | None = None, options: AskOptions | None = None
    ) -> ChatRequest:
        """The request for the conversation (or a plugin's ``messages``): the one place settings,
        the session's choices and ``options`` meet."""
        defaults = RequestDefaults.from_settings(self.settings())
        picks = {key: self.overrides[key] for key in ("max_tokens", "seed") if self.overrides.get(key) is not None}
        defaults = replace(defaults, **picks)  # type: ignore[arg-type]  # checked fields of RequestDefaults
        if self.thinking is not None:
            defaults = replace(defaults, thinking=self.thinking)
        options = options or AskOptions()
        plugin_turn = messages is not None
        if messages is None:
            system = self.system_prompt()
            messages = ((ChatMessage("system", system),) if system else ()) + self.history()
        tools = self.tools() if self.tools is not None and not plugin_turn else ()
        request = defaults.request(
            messages,
            thinking=options.thinking,
            max_tokens=options.max_tokens,
            seed=options.seed,
            grammar=options.grammar,
        )
        if tools:
            request = replace(request, tools=tools)
        if self.overrides.get("ignore_eos"):
            request = replace(request, ignore_eos=True)
        return request

    def start_reply(
        self,
        messages: Sequence[ChatMessage] | None = None,
        options: AskOptions | None = None,
        on_answer: Callable[[str], None] | None = None,
    ) -> Reply:
        """Start a reply to the conversation, or to a plugin's ``messages`` (its model turn, whose
        answer goes to ``on_answer``). The reply is stored (incomplete) before anything streams."""
        if self.reply is not None:
            raise QuillpadError("A reply is still being written; wait for it or stop it first.")
        if messages is not None:
            self._ensure_conversation(messages[-1].content if messages else "Command")
        if self.conversation_id is None:
            raise QuillpadError("There is nothing to answer: the conversation has no messages.")
        request = self.build_request(messages, options)
        request.validate()
        message_id = self.store.add_message(self.conversation_id, "assistant", "", complete=False)
        self.reply = Reply(request, self.owner.reserve_id(), message_id, on_answer=on_answer)
        return self.reply

    def stop(self) -> None:
        """End the reply being written (only it: other requests to the model go on)."""
        if self.reply is not None:
            self.owner.stop(self.reply.request_id)

    def regenerate(self) -> Reply | None:
        """Answer the last user message again (a new seed unless one is fixed); None if there is none."""
        if self.reply is not None:
            return None
        messages = self.messages()
        if messages and messages[-1].role == "assistant":
            self.store.delete_message(messages[-1].id)
            messages = messages[:-1]
        if not messages or messages[-1].role != "user":
            return None
        return self.start_reply()

    def edit_last(self) -> tuple[str, tuple[Attachment, ...]] | None:
        """The last user message's text and attachments, to edit; the next ``send`` replaces it."""
        if self.reply is not None:
            return None
        users = [m for m in self.messages() if m.role == "user"]
        if not users:
            return None
        self._editing_last = True
        return users[-1].content, users[-1].attachments

    def deleted_on_edit(self) -> list[int]:
        """The ids the next ``send`` removes (the last exchange, when editing it)."""
        if not self._editing_last:
            return []
        messages = self.messages()
        ids: list[int] = []
        while messages and messages[-1].role == "assistant":
            ids.append(messages.pop().id)
        if messages and messages[-1].role == "user":
            ids.append(messages[-1].id)
        return ids

    def _drop_last_exchange(self) -> None:
        for message_id in self.deleted_on_edit():
            self.store.delete_message(message_id)

    # -- following a reply ------------------------------------------------------------

    def feed(self, reply: Reply, events: Sequence[EngineEvent]) -> Update:
        """Take a batch of the reply's events; returns what to add to the view."""
        thinking: list[str] = []
        answer: list[str] = []
        notices: list[str] = []
        for event in events:
            if isinstance(event, ThinkingText):
                thinking.append(event.text)
            elif isinstance(event, AnswerText):
                answer.append(event.text)
            elif isinstance(event, Notice):
                reply.notices.append(event.message)
            elif isinstance(event, Queued):
                notices.append(queued_message(event.position))
            elif isinstance(event, Stats):
                reply.stats = event
        reply.thinking.extend(thinking)
        reply.answer.extend(answer)
        now = time.monotonic()
        if (thinking or answer) and now - reply.last_saved >= PERSIST_SECONDS:
            reply.last_saved = now
            self._persist(reply, complete=False)
        return Update("".join(thinking), "".join(answer), tuple(notices))

    def finish(self, reply: Reply, final: Done | EngineError) -> Finished:
        """The reply ended: save it as it stands and say how it ended."""
        if self.reply is reply:
            self.reply = None
        notes = list(reply.notices)
        crashed: str | None = None
        follow_up: Callable[[], None] | None = None
        if isinstance(final, Done):
            reply.answer, reply.thinking = [final.answer], [final.thinking]
            if final.reason == "cancelled":
                notes.append("Stopped.")
            elif final.reason == "length":
                notes.append("Stopped at the length limit.")
            state = "stopped" if final.reason == "cancelled" else ""
            self._persist(reply, complete=final.reason != "cancelled", stopped=final.reason == "cancelled")
            if reply.on_answer is not None and final.reason != "cancelled":
                callback, answer = reply.on_answer, _answer_only(final)
                follow_up = lambda: callback(answer)  # noqa: E731
        else:
            notes.append(final.message)
            state = "error"
            self._persist(reply, complete=False)
            if final.crashed:
                crashed = final.message
        return Finished(reply.message_id, " ".join(notes), state, reply.stats, crashed, follow_up)

    def save_partial(self) -> None:
        """Save a streaming reply as it stands (the app is closing)."""
        if self.reply is not None:
            self._persist(self.reply, complete=False)

    def _persist(self, reply: Reply, complete: bool, stopped: bool = False) -> None:
        stats: dict[str, float | int] = dict(reply.stats.to_dict()) if reply.stats else {}
        if complete or stopped:
            stats["stopped"] = int(stopped)
        self.store.update_message(
            reply.message_id, "".join(reply.answer), "".join(reply.thinking), complete=complete, stats=stats or None
        )

    def stream(self, reply: Reply) -> Iterator[EngineEvent]:
        """Run ``reply`` on this thread: its events as they come (saved on the way); the last is
        ``Done`` or ``EngineError``. ``self.finished`` then says how it ended."""
        self.finished: Finished | None = None
        events = self.owner.chat(reply.request, "chat", request_id=reply.request_id)
        try:
            for event in events:
                if isinstance(event, Done | EngineError):
                    self.finished = self.finish(reply, event)
                else:
                    self.feed(reply, [event])
                yield event
        except QuillpadError as err:
            error = EngineError(str(err))
            self.finished = self.finish(reply, error)
            yield error
        finally:
            events.close()  # a caller that walked away stops the request here
            if self.reply is reply:  # ...and keeps what came
                self.finished = self.finish(reply, Done("cancelled", "".join(reply.answer), "".join(reply.thinking)))


def _answer_only(final: Done) -> str:
    from app.core.engine.model_client import answer_from_events

    return answer_from_events([final])
