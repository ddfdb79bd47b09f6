"""What a plugin gets from the app: ``PluginContext``, one per plugin.

The context reads the ``PluginHost`` live, so services that appear later (a
model loaded, a project opened) are seen at once. ``ask_model`` and
``stream_model`` block while the model writes: call them off the GUI thread,
or let a command return a ``ModelTurn`` so the app streams the reply itself;
other slow work goes in a ``BackgroundWork`` (``app.core.plugins.background``).
``option``/``set_option`` read and change the options the plugin declared in
``PluginInfo.settings``, which the user also sees in Settings ▸ Plugins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from app.core.edits.document import Document, Editor
from app.core.engine.events import EngineEvent
from app.core.engine.options import ChatMessage
from app.core.errors import QuillpadError
from app.core.plugins.background import BackgroundRunner, CancelToken, run_inline
from app.core.plugins.contributions import AskOptions, Capability, CommandResult, OptionValue, PluginSetting
from app.core.plugins.model import answer_from_events
from app.core.plugins.notify import LogNotifier
from app.core.plugins.options import MemoryOptions, OptionStore, checked_value, declared, effective
from app.core.plugins.services import (
    GitAccess,
    ModelClient,
    NoticeLevel,
    Notifier,
    ProjectAccess,
    Sandbox,
    SettingsSection,
)

T = TypeVar("T")

_NEEDS: dict[Capability, str] = {
    "model": "a loaded model; load a model first",
    "project": "an open project folder; open a folder first",
    "editor": "the editor, which this session does not have",
    "git": "a project folder in a git repository; open one (or use Git ▸ Initialise repository) first",
    "sandbox": "the sandboxed runner, which this version of Quillpad does not provide yet",
}


class ResultSink(Protocol):
    """Something that carries out a ``CommandResult`` (the window does)."""

    def carry_out(self, result: CommandResult, on_applied: Callable[[list[str]], None] | None = None) -> None:
        """Show, stream and review as a command's result would be."""
        ...


class MissingCapabilityError(QuillpadError):
    """A plugin needs a service the app cannot give it right now."""


def missing_message(what: str, capability: Capability) -> str:
    """``"/gen needs a loaded model; load a model first."``"""
    return f"{what} needs {_NEEDS[capability]}."


@dataclass
class PluginHost:
    """The app's services, shared by every plugin's context; the app updates it.

    ``git`` is set while the open folder is in a git repository; ``sandbox``
    stays ``None`` until that feature exists.
    """

    notifier: Notifier = field(default_factory=LogNotifier)
    model: ModelClient | None = None
    project: ProjectAccess | None = None
    # Carries out a CommandResult outside a command (a panel's button); the
    # GUI provides it, headless code uses ``app.core.chat.commands``.
    results: ResultSink | None = None
    editor: Editor | None = None
    git: GitAccess | None = None
    sandbox: Sandbox | None = None
    # Where declared plugin options live: the app's settings in the GUI, memory otherwise.
    options: OptionStore = field(default_factory=MemoryOptions)
    # Runs a panel's slow work off the GUI thread: the window's task helper, inline otherwise.
    background: BackgroundRunner = run_inline

    def available(self, capability: Capability) -> bool:
        """Whether the service is there (for the model: loaded and ready)."""
        if capability == "model":
            return self.model is not None and self.model.ready()
        return getattr(self, capability, None) is not None

    def missing(self, capabilities: Sequence[Capability]) -> Capability | None:
        """The first of ``capabilities`` that is not available."""
        return next((c for c in capabilities if not self.available(c)), None)


class PluginContext:
    """A plugin's handle on the app: model, project, editor, notices, settings."""

    def __init__(
        self,
        plugin_id: str,
        host: PluginHost,
        settings: SettingsSection,
        declarations: Callable[[], Sequence[PluginSetting]] = tuple,
    ) -> None:
        self.plugin_id = plugin_id
        self.host = host
        self.settings = settings  # free-form JSON state of the plugin's own (plugins.json)
        self._declarations = declarations
        self.log = logging.getLogger(f"app.plugins.{plugin_id}")

    # -- declared options ----------------------------------------------------

    def options(self) -> dict[str, OptionValue]:
        """Every declared option's current value (the default where none is stored)."""
        return effective(self._declarations(), self.host.options.values(self.plugin_id))

    def option(self, key: str) -> OptionValue:
        """One declared option's value; raises ``QuillpadError`` for an undeclared key."""
        declared(self._declarations(), key)
        return self.options()[key]

    def set_option(self, key: str, value: OptionValue) -> None:
        """Change a declared option (saved with the app's settings); the type must match the default's."""
        setting = declared(self._declarations(), key)
        self.host.options.store(self.plugin_id, key, checked_value(setting, value))

    # -- services (None when absent) ------------------------------------

    @property
    def model(self) -> ModelClient | None:
        return self.host.model

    @property
    def project(self) -> ProjectAccess | None:
        return self.host.project

    @property
    def editor(self) -> Editor | None:
        return self.host.editor

    @property
    def git(self) -> GitAccess | None:
        """Read access to the open folder's repository (status, diffs, state); None outside one."""
        return self.host.git

    @property
    def sandbox(self) -> Sandbox | None:
        """Always None for now: the sandboxed runner is not built yet."""
        return self.host.sandbox

    def has(self, capability: Capability) -> bool:
        """Whether a service is available right now."""
        return self.host.available(capability)

    def require(self, what: str, *capabilities: Capability) -> None:
        """Raise ``MissingCapabilityError`` naming the first missing service."""
        missing = self.host.missing(capabilities)
        if missing is not None:
            raise MissingCapabilityError(missing_message(what, missing))

    def current_document(self) -> Document | None:
        """The document being edited, if any."""
        editor = self.host.editor
        return editor.current() if editor is not None else None

    def project_root(self) -> Path | None:
        """The folder edits may touch: the project's, else the current file's folder."""
        if self.host.project is not None:
            return self.host.project.root
        document = self.current_document()
        path = document.path() if document is not None else None
        return path.parent if path is not None else None

    # -- the model -------------------------------------------------------

    def _client(self, what: str) -> ModelClient:
        self.require(what, "model")
        assert self.host.model is not None
        return self.host.model

    def stream_model(self, messages: Sequence[ChatMessage], options: AskOptions | None = None) -> Iterator[EngineEvent]:
        """The model's reply as engine events (thinking and answer apart); blocks between events."""
        return self._client("Asking the model").stream(messages, options or AskOptions())

    def ask_model(self, messages: Sequence[ChatMessage], options: AskOptions | None = None) -> str:
        """The model's whole answer, without thinking; raises ``QuillpadError`` if it failed."""
        return answer_from_events(self.stream_model(messages, options))

    # -- the user ----------------------------------------------------------

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        """Show the user a short notice."""
        self.host.notifier.notify(message, level)

    def run_in_background(
        self,
        work: Callable[[CancelToken], T],
        on_result: Callable[[T], None],
        on_error: Callable[[str], None],
    ) -> CancelToken:
        """Run ``work(token)`` off the GUI thread (a panel's slow work); ``on_result`` or
        ``on_error`` (one sentence) is called back on the GUI thread. Returns the token that
        cancels it; ``work`` should look at ``token.cancelled`` between slow steps."""
        return self.host.background(work, on_result, on_error)

    def carry_out(self, result: CommandResult, on_applied: Callable[[list[str]], None] | None = None) -> None:
        """Let the app carry out ``result`` as if a command had returned it (from a panel, say).

        ``on_applied`` gets the keys of the files changed once the user accepted
        a proposal. Raises ``QuillpadError`` where nothing can carry it out.
        """
        if self.host.results is None:
            raise QuillpadError("There is no window to show this in; run it from the chat instead.")
        self.host.results.carry_out(result, on_applied)
