"""The plugin layer: hook specifications, the manager, contexts, slash commands.

Plugins themselves import only ``app.api``; this package is the host side.
Carrying out a command's result is the chat's job (``app.core.chat.commands``).
"""

from app.core.plugins.context import MissingCapabilityError, PluginContext, PluginHost
from app.core.plugins.hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec
from app.core.plugins.manager import PluginManager
from app.core.plugins.model import EngineModelClient, ModelReplyError, answer_from_events
from app.core.plugins.notify import ListNotifier, LogNotifier
from app.core.plugins.records import (
    PluginError,
    PluginRecord,
    RegisteredAction,
    RegisteredPanel,
    RegisteredProvider,
    UnknownCommandError,
)
from app.core.plugins.slash import Completion, RegisteredCommand, parse_slash
from app.core.plugins.state import PluginStateStore

__all__ = [
    "ENTRY_POINT_GROUP",
    "Completion",
    "EngineModelClient",
    "ListNotifier",
    "LogNotifier",
    "MissingCapabilityError",
    "ModelReplyError",
    "PluginContext",
    "PluginError",
    "PluginHost",
    "PluginManager",
    "PluginRecord",
    "PluginStateStore",
    "RegisteredAction",
    "RegisteredCommand",
    "RegisteredPanel",
    "RegisteredProvider",
    "UnknownCommandError",
    "answer_from_events",
    "hookimpl",
    "hookspec",
    "parse_slash",
]
