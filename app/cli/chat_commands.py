"""Plugins in ``quillpad chat``: the installed plugins, headless, with the chat's model.

Their system prompts and context providers go with every message and their
slash commands run through the same ``ResultRunner`` as in the window
(``app.core.chat``); background work runs inline and an edit proposal is
printed as a diff, never applied.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.edits.document import MemoryDocument, MemoryEditor
from app.core.edits.proposal import EditProposal
from app.core.engine.model_client import EngineModelClient
from app.core.paths import app_paths
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.options import SettingsOptions
from app.core.plugins.services import NoticeLevel
from app.core.plugins.slash import parse_slash
from app.core.plugins.state import PluginStateStore
from app.core.settings import LoadedSettings, save_settings

NOT_APPLIED = "The proposed changes were not applied: quillpad chat never writes files; use the app to review them."


def is_command(text: str) -> bool:
    """Whether a prompt is a slash command (anything else goes to the model)."""
    return parse_slash(text) is not None


class _CallbackNotifier:
    """Plugin notices go where the chat's own notices go."""

    def __init__(self, show: Callable[[str], None]) -> None:
        self.show = show

    def notify(self, message: str, level: NoticeLevel = "info") -> None:
        self.show(message)


def cli_plugins(
    model: EngineModelClient,
    loaded: LoadedSettings,
    *,
    file: Path | None,
    notice: Callable[[str], None],
) -> PluginManager:
    """The installed plugins with ``model`` as their model and a scratch document as the editor
    (``file``'s text when given, cursor at its end)."""
    paths = app_paths()
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
    host = PluginHost(notifier=_CallbackNotifier(notice), model=model, editor=editor)
    # Plugin options as the app keeps them (``/tutor on`` here is on in the app too).
    host.options = SettingsOptions(lambda: settings, save)
    manager = PluginManager(host, PluginStateStore.for_app(paths))
    manager.discover()
    return manager


def proposal_diff(proposal: EditProposal) -> str:
    """A unified diff of every file the proposal would change (``a/KEY`` → ``b/KEY``)."""
    parts = []
    for change in proposal:
        old = "/dev/null" if change.is_new else f"a/{change.key}"
        parts.append(change.diff.unified(old, f"b/{change.key}"))
    return "".join(part if part.endswith("\n") else part + "\n" for part in parts)
