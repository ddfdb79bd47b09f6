"""Slash commands in ``quillpad chat``: the plugin layer, headless, with the chat's model.

The GUI's chat panel sends ``/`` input to ``PluginManager.dispatch`` and carries
the result out (message, model turn, background work, edit proposal). Here
``app.core.plugins.runner.run_result`` does the same without a window: the
model's events stream as plain chat does, background work runs inline, and an
edit proposal is printed as a diff and never applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.edits.proposal import EditProposal
from app.core.engine.backend import ChatBackend
from app.core.engine.events import EngineEvent
from app.core.engine.options import ChatMessage
from app.core.paths import app_paths
from app.core.plugins.context import PluginHost
from app.core.plugins.contributions import AskOptions
from app.core.plugins.manager import PluginManager
from app.core.plugins.model import EngineModelClient
from app.core.plugins.options import SettingsOptions
from app.core.plugins.records import UnknownCommandError
from app.core.plugins.runner import ChatOutcome, run_result
from app.core.plugins.services import NoticeLevel
from app.core.plugins.slash import parse_slash
from app.core.plugins.state import PluginStateStore
from app.core.settings import load_settings, save_settings

NOT_APPLIED = "The proposed changes were not applied: quillpad chat never writes files; use the app to review them."


def is_command(text: str) -> bool:
    """Whether a prompt is a slash command (anything else goes to the model as today)."""
    return parse_slash(text) is not None


class _CallbackNotifier:
    """Plugin notices go where the chat's own notices go."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show = show

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        self.show(message)


class _ChatModel(EngineModelClient):
    """The chat's model for plugins; ``--max-tokens`` bounds a turn whose plugin leaves the length open."""

    def __init__(
        self, backend: ChatBackend, *, thinking: bool | None, seed: int | None, max_tokens: int | None
    ) -> None:
        super().__init__(backend, thinking=thinking, seed=seed)
        self.max_tokens = max_tokens

    def stream(self, messages: Sequence[ChatMessage], options: AskOptions) -> Iterator[EngineEvent]:
        if options.max_tokens is None and self.max_tokens is not None:
            options = replace(options, max_tokens=self.max_tokens)
        return super().stream(messages, options)


class ChatCommands:
    """The installed plugins, with ``backend`` as their model and a scratch document as the editor
    (``file``'s text when given, cursor at its end)."""

    def __init__(
        self,
        backend: ChatBackend,
        *,
        thinking: bool | None,
        seed: int | None,
        max_tokens: int | None,
        file: Path | None,
        notice: Callable[[str], None],
    ) -> None:
        paths = app_paths()
        loaded = load_settings(paths)
        settings = loaded.settings

        def save() -> None:
            if not loaded.read_only:  # a newer app's settings file is never overwritten
                save_settings(paths, settings)

        editor = MemoryEditor()
        if file is not None:
            editor.open(file)
            document = editor.current()
            assert document is not None
            document.set_cursor(len(document.text()))
        else:
            editor.set_current(MemoryDocument())
        self.host = PluginHost(
            notifier=_CallbackNotifier(notice),
            model=_ChatModel(backend, thinking=thinking, seed=seed, max_tokens=max_tokens),
            editor=editor,
        )
        # Plugin options as the app keeps them (``/tutor on`` here is on in the app too).
        self.host.options = SettingsOptions(lambda: settings, save)
        self.manager = PluginManager(self.host, PluginStateStore.for_app(paths))
        self.manager.discover()

    def names(self) -> list[str]:
        """Every usable command, ``/help`` first."""
        return [f"/{entry.command.name}" for entry in self.manager.slash_commands()]

    def run(self, text: str, on_event: Callable[[EngineEvent], None], on_message: Callable[[str], None]) -> ChatOutcome:
        """Dispatch ``text`` and carry its result out; raises ``QuillpadError`` (an unknown command names
        the available ones)."""
        call = parse_slash(text)
        assert call is not None
        if f"/{call.name}" not in self.names():
            raise UnknownCommandError(f"There is no command /{call.name}; the commands are {', '.join(self.names())}.")
        result = self.manager.dispatch(text)
        return run_result(result, self.host.model, on_event, on_message=on_message)


def proposal_diff(proposal: EditProposal) -> str:
    """A unified diff of every file the proposal would change (``a/KEY`` → ``b/KEY``)."""
    parts = []
    for change in proposal:
        old = "/dev/null" if change.is_new else f"a/{change.key}"
        parts.append(change.diff.unified(old, f"b/{change.key}"))
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)
