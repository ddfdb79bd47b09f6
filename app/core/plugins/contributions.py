"""What a plugin declares and contributes: plain data, no Qt.

A plugin is any object with an ``info`` attribute (``PluginInfo``) and hook
implementations returning the contributions below. Command handlers are
quick and never block: to ask the model they return a ``ModelTurn``, which
the app streams into the chat (or the headless runner collects), and whose
``then`` turns the finished answer into a message or an edit proposal. Other
slow work goes into a ``BackgroundWork``, which the app runs off the GUI
thread and whose own ``CommandResult`` it then carries out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from app.core.edits.proposal import EditProposal
from app.core.engine.model_client import AskOptions as AskOptions  # re-exported: part of the plugin API
from app.core.engine.options import ChatMessage
from app.core.plugins.background import BackgroundWork

if TYPE_CHECKING:
    from app.core.plugins.context import PluginContext

API_VERSION = 1

Capability = Literal["model", "project", "editor", "git", "sandbox"]
CAPABILITIES: tuple[Capability, ...] = ("model", "project", "editor", "git", "sandbox")


@dataclass(frozen=True)
class PluginInfo:
    """Who a plugin is and what it needs from the app."""

    name: str  # shown to users, e.g. "Code generation"
    version: str
    description: str
    requires: tuple[Capability, ...] = ()
    api_version: int = API_VERSION  # the plugin API it was written for
    # Options the user sees in Settings ▸ Plugins; read them with ``PluginContext.option``.
    settings: tuple[PluginSetting, ...] = ()


OptionValue = bool | int | str


@dataclass(frozen=True)
class PluginSetting:
    """A typed option a plugin declares: its type is the default's (bool, int or str)."""

    key: str  # e.g. "tutor_mode"
    label: str  # shown in the Settings dialog
    default: OptionValue
    help: str = ""  # a tooltip

    def accepts(self, value: object) -> bool:
        """Whether ``value`` has this option's type (``True`` is not an int here)."""
        if isinstance(self.default, bool):
            return isinstance(value, bool)
        if isinstance(self.default, int):
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, str)


@dataclass(frozen=True)
class ModelTurn:
    """Ask the model; the reply streams into the chat, then ``then`` gets the answer.

    The answer handed to ``then`` never contains thinking.
    """

    messages: tuple[ChatMessage, ...]
    options: AskOptions = field(default_factory=AskOptions)
    title: str = ""  # what is happening, e.g. "Editing app/main.py"
    then: Callable[[str], CommandResult] | None = None


@dataclass(frozen=True)
class CommandResult:
    """What a command or action produced: any of a chat message, a model turn, an edit proposal."""

    message: str = ""  # Markdown shown in the chat as the command's reply
    ask: ModelTurn | None = None
    proposal: EditProposal | None = None  # edits for the diff preview; nothing is applied without the user
    # Slow work, run off the GUI thread after the message and proposal; the result it returns is
    # carried out next (so a result with ``background`` leaves ``ask`` to that result).
    background: BackgroundWork | None = None


@dataclass(frozen=True)
class CommandInvocation:
    """One use of a slash command or editor action."""

    name: str  # the command's name or the action's id
    args: str  # the text after the command, or what the user typed for the action
    context: PluginContext
    # The chat conversation it was typed in (None: none yet, or headless without one);
    # key per-conversation state on it.
    conversation_id: int | None = None


Handler = Callable[[CommandInvocation], CommandResult]


@dataclass(frozen=True)
class SlashCommand:
    """A chat command such as ``/gen``: ``name`` without the slash, lower case."""

    name: str
    help: str  # one line for /help and completion
    handler: Handler
    argument_hint: str = ""  # e.g. "<instruction>"


@dataclass(frozen=True)
class EditorAction:
    """An action on the editor's context menu."""

    id: str  # unique, e.g. "codegen.explain"
    label: str  # e.g. "Explain selection"
    handler: Handler
    needs_selection: bool = False
    # When set, the app asks the user for text with this label first and
    # passes it as the invocation's ``args``.
    input_prompt: str | None = None
    shortcut: str | None = None  # e.g. "Ctrl+Shift+E"


@dataclass(frozen=True)
class SystemPrompt:
    """Text a plugin adds to the system prompt of one mode ("chat", "code", "math", …)."""

    mode: str
    text: str


@dataclass(frozen=True)
class ContextPiece:
    """Something that can go with a message: a file, a selection, search results."""

    label: str
    text: str
    language: str = ""
    source: str = ""  # the plugin that provided it (filled in by the manager)


@dataclass(frozen=True)
class ContextRequest:
    """What a context provider is asked for."""

    query: str  # the user's message
    max_chars: int
    context: PluginContext


@dataclass(frozen=True)
class ContextProvider:
    """A source of context for messages."""

    id: str
    label: str
    provide: Callable[[ContextRequest], Sequence[ContextPiece]]
    description: str = ""


@dataclass(frozen=True)
class PanelSpec:
    """A Qt panel. ``factory(context)`` returns a QWidget and is only called by the
    GUI, so a plugin imports Qt inside it and still loads headless."""

    id: str
    title: str
    factory: Callable[[PluginContext], object]
    area: Literal["bottom", "left", "right"] = "bottom"
