"""Finding, loading, isolating and using plugins.

Plugins come from the ``quillpad.plugins`` entry point group (built-ins are
declared there exactly like third-party ones) or are registered in code.
pluggy holds the registrations and calls the hooks, one plugin at a time:
a plugin that fails to import, declares itself wrongly, or raises in a hook
or a handler is turned off for the session with a notice and a log entry,
and everything else carries on. Plugins the user turned off are not even
imported. Use from one thread (the GUI's).
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, TypeVar

import pluggy

from app.core.errors import QuillpadError
from app.core.plugins.background import BackgroundWork, CancelToken, PluginFailure
from app.core.plugins.context import MissingCapabilityError, PluginContext, PluginHost, missing_message
from app.core.plugins.contributions import (
    API_VERSION,
    CAPABILITIES,
    CommandInvocation,
    CommandResult,
    ContextPiece,
    ContextProvider,
    ContextRequest,
    EditorAction,
    PanelSpec,
    PluginInfo,
    PluginSetting,
    SlashCommand,
    SystemPrompt,
)
from app.core.plugins.hookspecs import ENTRY_POINT_GROUP, PROJECT, QuillpadHookSpecs
from app.core.plugins.records import (
    PluginError,
    PluginRecord,
    RegisteredAction,
    RegisteredPanel,
    RegisteredProvider,
    UnknownCommandError,
)
from app.core.plugins.slash import (
    CORE_ID,
    HELP_COMMAND,
    NAME_RE,
    Completion,
    RegisteredCommand,
    complete,
    help_text,
    parse_slash,
    suggestion,
)
from app.core.plugins.state import PluginStateStore
from app.core.toolcalls.registry import RegisteredTool
from app.core.toolcalls.tools import TOOL_NAME_RE, Tool

log = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_ERROR_DETAIL = 200
# What a plugin's own code may raise that must not take the app down with it.
_PLUGIN_ERRORS = (Exception, SystemExit)


@dataclass
class _Contributions:
    commands: list[SlashCommand]
    actions: list[EditorAction]
    prompts: list[SystemPrompt]
    providers: list[ContextProvider]
    panels: list[PanelSpec]
    tools: list[Tool]


class _ProviderTimeout(QuillpadError):
    """A context provider did not answer in time."""


def _within(call: Callable[[], T], seconds: float, name: str) -> T:
    """``call()`` on a helper thread, waiting at most ``seconds``; raises ``_ProviderTimeout`` after that."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as err:  # handed back to the caller's thread
            failure.append(err)

    thread = threading.Thread(target=run, name=f"quillpad-context-{name}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise _ProviderTimeout(name)
    if failure:
        raise failure[0]
    return outcome[0]


def _describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if len(text) > _MAX_ERROR_DETAIL:
        text = text[: _MAX_ERROR_DETAIL - 1] + "…"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _source(entry_point: importlib.metadata.EntryPoint) -> tuple[str, str]:
    dist = entry_point.dist
    where = f"entry point {entry_point.value}"
    if dist is None:
        return where, ""
    if dist.name.lower() == PROJECT:
        return f"built in ({where})", ""  # the app's own summary would not describe the plugin
    try:
        summary = str(dist.metadata["Summary"] or "")
    except KeyError:  # newer Pythons raise for a missing field
        summary = ""
    return f"{dist.name} {dist.version} ({where})", summary


def _builtin_first(entry_point: importlib.metadata.EntryPoint) -> tuple[bool, str]:
    dist = entry_point.dist
    return (dist is None or dist.name.lower() != PROJECT, entry_point.name)


class PluginManager:
    """All plugins of one app session."""

    def __init__(self, host: PluginHost | None = None, store: PluginStateStore | None = None) -> None:
        self.host = host or PluginHost()
        self.store = store or PluginStateStore(None)
        self._pm = pluggy.PluginManager(PROJECT)
        self._pm.add_hookspecs(QuillpadHookSpecs)
        self._records: dict[str, PluginRecord] = {}
        self._objects: dict[str, object] = {}
        self._entry_points: dict[str, importlib.metadata.EntryPoint] = {}
        self._contributions: dict[str, _Contributions] = {}
        self._contexts: dict[str, PluginContext] = {}
        self._help = RegisteredCommand(
            CORE_ID, SlashCommand(HELP_COMMAND, "list the commands", lambda _: CommandResult(self.help()))
        )
        if self.store.notice:
            self.host.notifier.notify(self.store.notice, "warning")

    # -- discovery and registration -------------------------------------

    def discover(self, entry_points: Iterable[importlib.metadata.EntryPoint] | None = None) -> None:
        """Load the plugins of the ``quillpad.plugins`` entry point group (or of ``entry_points``)."""
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if entry_points is None else entry_points
        seen: set[tuple[str, str]] = set()
        for entry_point in sorted(found, key=_builtin_first):
            if (entry_point.name, entry_point.value) in seen:
                continue  # the same distribution found twice on the path
            seen.add((entry_point.name, entry_point.value))
            source, summary = _source(entry_point)
            known = self._entry_points.get(entry_point.name)
            if known is not None and known.value == entry_point.value:
                continue  # discovered before
            if entry_point.name in self._records:
                message = (
                    f"Two plugins are called {entry_point.name}; the one from {source} was not loaded. "
                    "Uninstall one of them."
                )
                log.warning(message)
                self.host.notifier.notify(message, "warning")
                continue
            self._entry_points[entry_point.name] = entry_point
            record = PluginRecord(entry_point.name, source, "disabled", summary=summary)
            self._records[entry_point.name] = record
            if entry_point.name not in self.store.state.disabled:
                self._load_and_enable(record)

    def register(self, plugin: object, plugin_id: str, source: str = "registered in code") -> PluginRecord:
        """Add a plugin object directly (tests, embedding); it is enabled unless turned off in settings."""
        if plugin_id in self._records:
            raise PluginError(f"A plugin called {plugin_id} is already registered; choose another name.")
        record = PluginRecord(plugin_id, source, "disabled")
        self._records[plugin_id] = record
        self._objects[plugin_id] = plugin
        if plugin_id not in self.store.state.disabled:
            self._enable(record, plugin)
        return record

    def _load_and_enable(self, record: PluginRecord) -> None:
        entry_point = self._entry_points[record.id]
        try:
            plugin = entry_point.load()
        except _PLUGIN_ERRORS as err:
            self._fail(record.id, "to load", err)
            return
        self._objects[record.id] = plugin
        self._enable(record, plugin)

    def _enable(self, record: PluginRecord, plugin: object) -> None:
        info = getattr(plugin, "info", None)
        if not isinstance(info, PluginInfo):
            self._fail(record.id, "to load", TypeError("it declares no PluginInfo as `info`"))
            return
        record.info = info
        self._migrate_options(record.id, info)
        if info.api_version > API_VERSION:
            self._fail(
                record.id,
                "to load",
                RuntimeError(f"it needs plugin API {info.api_version}, this Quillpad has {API_VERSION}"),
            )
            return
        unknown = [need for need in info.requires if need not in CAPABILITIES]
        if unknown:
            self._fail(record.id, "to load", RuntimeError(f"it requires unknown services {unknown}"))
            return
        try:
            self._pm.register(plugin, name=record.id)
            self._pm.check_pending()
        except (pluggy.PluginValidationError, ValueError) as err:
            self._fail(record.id, "to load", err)
            return
        contributions = self._collect(record.id)
        if contributions is None:
            return  # _collect has failed the plugin
        self._contributions[record.id] = contributions
        record.state, record.error = "enabled", None
        record.commands = tuple(command.name for command in contributions.commands)
        record.actions = tuple(action.id for action in contributions.actions)
        self._report_clashes(record.id, contributions)

    def _hook(self, plugin_id: str, name: str, kind: type[T]) -> list[T]:
        """Call one hook of one plugin; raises whatever the plugin raises."""
        others = [plugin for other, plugin in self._pm.list_name_plugin() if other != plugin_id]
        caller = self._pm.subset_hook_caller(name, others)
        items: list[T] = []
        for result in caller(context=self.context_for(plugin_id)):
            if result is None:
                continue
            if not isinstance(result, list | tuple):
                raise TypeError(f"{name} returned {type(result).__name__}, not a list")
            for item in result:
                if not isinstance(item, kind):
                    raise TypeError(f"{name} returned a {type(item).__name__}, not a {kind.__name__}")
                items.append(item)
        return items

    def _collect(self, plugin_id: str) -> _Contributions | None:
        hook = "quillpad_slash_commands"
        try:
            commands = self._hook(plugin_id, hook, SlashCommand)
            for command in commands:
                if not NAME_RE.match(command.name):
                    raise ValueError(f"command name {command.name!r} is not lower-case letters, digits, - or _")
            hook = "quillpad_editor_actions"
            actions = self._hook(plugin_id, hook, EditorAction)
            hook = "quillpad_system_prompts"
            prompts = self._hook(plugin_id, hook, SystemPrompt)
            hook = "quillpad_context_providers"
            providers = self._hook(plugin_id, hook, ContextProvider)
            hook = "quillpad_panels"
            panels = self._hook(plugin_id, hook, PanelSpec)
            hook = "quillpad_tools"
            tools = self._hook(plugin_id, hook, Tool)
            for tool in tools:
                if not TOOL_NAME_RE.match(tool.name):
                    raise ValueError(f"tool name {tool.name!r} is not a letter then letters, digits, _, . or -")
        except _PLUGIN_ERRORS as err:
            self._fail(plugin_id, f"in {hook}", err)
            return None
        return _Contributions(commands, actions, prompts, providers, panels, tools)

    def _report_clashes(self, plugin_id: str, contributions: _Contributions) -> None:
        for command in contributions.commands:
            owner = self._command_owner(command.name)
            if owner is not None and owner != plugin_id:
                self.host.notifier.notify(
                    f"The plugin {plugin_id} also offers /{command.name}, which {owner} already provides; "
                    f"{owner}'s is used.",
                    "warning",
                )

    def _fail(self, plugin_id: str, when: str, err: BaseException) -> None:
        """Turn a plugin off for this session after its code failed."""
        record = self._records[plugin_id]
        detail = _describe(err)
        log.error("plugin %s failed %s", plugin_id, when, exc_info=err)
        record.state = "failed"
        record.error = f"failed {when} ({detail})"
        self._contributions.pop(plugin_id, None)
        if self._pm.has_plugin(plugin_id):
            self._pm.unregister(name=plugin_id)
        self.host.notifier.notify(
            f"The plugin {record.name} failed {when} and was turned off ({detail}); details are in the log.",
            "error",
        )

    # -- listing and switching -------------------------------------------

    def records(self) -> list[PluginRecord]:
        """Every plugin known this session, in load order."""
        return list(self._records.values())

    def record(self, plugin_id: str) -> PluginRecord:
        """One plugin; raises ``PluginError`` for an unknown id."""
        try:
            return self._records[plugin_id]
        except KeyError:
            known = ", ".join(self._records) or "none"
            raise PluginError(f"There is no plugin called {plugin_id} (installed: {known}).") from None

    def set_enabled(self, plugin_id: str, enabled: bool) -> PluginRecord:
        """Turn a plugin on or off, now and in the saved settings; a failed one is retried."""
        record = self.record(plugin_id)
        self.store.set_disabled(plugin_id, not enabled)
        if enabled and record.state != "enabled":
            plugin = self._objects.get(plugin_id)
            if plugin is None or (record.state == "failed" and plugin_id in self._entry_points):
                self._load_and_enable(record)
            else:
                self._enable(record, plugin)
        elif not enabled:
            if self._pm.has_plugin(plugin_id):
                self._pm.unregister(name=plugin_id)
            self._contributions.pop(plugin_id, None)
            record.state, record.error = "disabled", None
        return record

    def context_for(self, plugin_id: str) -> PluginContext:
        """The plugin's context (one per plugin, kept for the session)."""
        if plugin_id not in self._contexts:
            self._contexts[plugin_id] = PluginContext(
                plugin_id, self.host, self.store.section(plugin_id), partial(self.declared_settings, plugin_id)
            )
        return self._contexts[plugin_id]

    # -- declared options --------------------------------------------------

    def declared_settings(self, plugin_id: str) -> tuple[PluginSetting, ...]:
        """The options a plugin declares (none for an unknown or unloaded plugin)."""
        record = self._records.get(plugin_id)
        return record.info.settings if record is not None and record.info is not None else ()

    def settings_pages(self) -> list[tuple[PluginRecord, tuple[PluginSetting, ...]]]:
        """Each loaded plugin that declares options, with its declarations (for Settings ▸ Plugins)."""
        return [
            (record, record.info.settings) for record in self._records.values() if record.info and record.info.settings
        ]

    def _migrate_options(self, plugin_id: str, info: PluginInfo) -> None:
        """A declared option that used to live in ``plugins.json`` moves to the app's settings, once."""
        section = self.store.state.sections.get(plugin_id, {})
        old = [setting for setting in info.settings if setting.key in section]
        if not old:
            return
        stored = self.host.options.values(plugin_id)
        for setting in old:
            value = section.pop(setting.key)
            if setting.key not in stored and setting.accepts(value):
                self.host.options.store(plugin_id, setting.key, value)
        try:
            self.store.save()
        except QuillpadError as err:  # the values are in the settings already; say so and go on
            log.warning("could not drop migrated options from %s: %s", self.store.path, err)

    # -- running plugin code -------------------------------------------

    def _requirements(self, plugin_id: str, what: str) -> None:
        info = self._records[plugin_id].info
        missing = self.host.missing(info.requires) if info else None
        if missing is not None:
            raise MissingCapabilityError(missing_message(what, missing))

    def _turned_off(self, plugin_id: str, what: str, err: BaseException) -> PluginError:
        self._fail(plugin_id, what, err)
        return PluginError(f"{self._records[plugin_id].name} failed and was turned off; details are in the log.")

    def _run(self, plugin_id: str, what: str, call: Callable[[], T]) -> T:
        """Run plugin code: its refusals pass through, anything else turns it off."""
        try:
            return call()
        except QuillpadError:
            raise
        except _PLUGIN_ERRORS as err:
            raise self._turned_off(plugin_id, what, err) from None

    def _checked(self, plugin_id: str, what: str, result: object) -> CommandResult:
        if not isinstance(result, CommandResult):
            wrong = TypeError(f"it returned {type(result).__name__}, not a CommandResult")
            raise self._turned_off(plugin_id, what, wrong)
        turn = result.ask
        if turn is not None and turn.then is not None:
            then = turn.then

            def guarded(answer: str) -> CommandResult:
                return self._checked(plugin_id, what, self._run(plugin_id, what, lambda: then(answer)))

            result = replace(result, ask=replace(turn, then=guarded))
        if result.background is not None:
            result = replace(result, background=self._guarded_work(plugin_id, what, result.background))
        return result

    def _guarded_work(self, plugin_id: str, what: str, work: BackgroundWork) -> BackgroundWork:
        """``work`` whose bugs, raised on a worker thread, turn the plugin off later on the app's thread."""
        run = work.run

        def failure(err: BaseException) -> PluginFailure:
            name = self._records[plugin_id].name
            message = f"{name} failed and was turned off; details are in the log."
            return PluginFailure(message, partial(self._fail, plugin_id, what, err))

        def guarded(token: CancelToken) -> CommandResult:
            try:
                result = run(token)
            except QuillpadError:
                raise
            except _PLUGIN_ERRORS as err:
                raise failure(err) from None
            if not isinstance(result, CommandResult):
                raise failure(TypeError(f"its background work returned {type(result).__name__}, not a CommandResult"))
            return self._checked(plugin_id, what, result)

        return replace(work, run=guarded)

    # -- slash commands --------------------------------------------------

    def slash_commands(self) -> list[RegisteredCommand]:
        """Every usable command (the first provider of a name wins), /help first."""
        table: dict[str, RegisteredCommand] = {HELP_COMMAND: self._help}
        for plugin_id, contributions in self._contributions.items():
            for command in contributions.commands:
                table.setdefault(command.name, RegisteredCommand(plugin_id, command))
        return list(table.values())

    def _command_owner(self, name: str) -> str | None:
        entry = next((e for e in self.slash_commands() if e.command.name == name), None)
        return entry.plugin_id if entry else None

    def is_command(self, text: str) -> bool:
        """Whether ``text`` is a slash command rather than a message for the model."""
        return parse_slash(text) is not None

    def complete(self, text: str) -> list[Completion]:
        """Completion candidates for what is in the chat box."""
        return complete(text, self.slash_commands())

    def help(self) -> str:
        """The /help text."""
        return help_text(self.slash_commands())

    def dispatch(self, text: str, conversation_id: int | None = None) -> CommandResult:
        """Run the command in ``text`` (typed in chat ``conversation_id``); raises ``QuillpadError``."""
        call = parse_slash(text)
        if call is None:
            raise UnknownCommandError("That is not a command; commands start with / (type /help to see them).")
        commands = {entry.command.name: entry for entry in self.slash_commands()}
        entry = commands.get(call.name)
        if entry is None:
            hint = suggestion(call.name, commands)
            raise UnknownCommandError(f"There is no command /{call.name}; type /help to see the commands.{hint}")
        if entry.plugin_id == CORE_ID:
            return entry.command.handler(CommandInvocation(call.name, call.args, self.context_for(CORE_ID)))
        what = f"/{call.name}"
        self._requirements(entry.plugin_id, what)
        invocation = CommandInvocation(call.name, call.args, self.context_for(entry.plugin_id), conversation_id)
        result = self._run(entry.plugin_id, f"in {what}", lambda: entry.command.handler(invocation))
        return self._checked(entry.plugin_id, f"in {what}", result)

    # -- editor actions --------------------------------------------------

    def editor_actions(self) -> list[RegisteredAction]:
        """Every action for the editor's context menu."""
        return [
            RegisteredAction(plugin_id, action)
            for plugin_id, contributions in self._contributions.items()
            for action in contributions.actions
        ]

    def run_action(self, action_id: str, args: str = "", conversation_id: int | None = None) -> CommandResult:
        """Run an editor action (``args``: what the user typed at its ``input_prompt``; its result goes
        into chat ``conversation_id``)."""
        entry = next((a for a in self.editor_actions() if a.action.id == action_id), None)
        if entry is None:
            raise PluginError(f"The action {action_id} is not available; its plugin may be turned off.")
        what = entry.action.label
        self._requirements(entry.plugin_id, what)
        invocation = CommandInvocation(action_id, args, self.context_for(entry.plugin_id), conversation_id)
        result = self._run(entry.plugin_id, f"in {what}", lambda: entry.action.handler(invocation))
        return self._checked(entry.plugin_id, f"in {what}", result)

    # -- prompts, context, panels ----------------------------------------

    def system_prompt(self, mode: str) -> str:
        """What plugins add to the system prompt of ``mode``, joined by blank lines.

        The hook is asked afresh for every message (a plugin may change its
        prompt with its options); a plugin whose hook raises is turned off with
        a notice and the others' text is still used.
        """
        texts: list[str] = []
        for plugin_id in list(self._contributions):
            try:
                prompts = self._run(
                    plugin_id,
                    "in quillpad_system_prompts",
                    partial(self._hook, plugin_id, "quillpad_system_prompts", SystemPrompt),
                )
            except PluginError:
                continue
            texts.extend(prompt.text.strip() for prompt in prompts if prompt.mode == mode and prompt.text.strip())
        return "\n\n".join(texts)

    def context_providers(self) -> list[RegisteredProvider]:
        """Every context provider."""
        return [
            RegisteredProvider(plugin_id, provider)
            for plugin_id, contributions in self._contributions.items()
            for provider in contributions.providers
        ]

    def gather_context(
        self,
        query: str,
        max_chars: int = 8000,
        provider_ids: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> list[ContextPiece]:
        """Context from the providers (all, or those named), within ``max_chars`` in total.

        A provider that fails turns its plugin off and is skipped. With
        ``timeout``, each provider runs on its own thread and one that takes
        longer is skipped for this query with a notice (its thread is left to
        finish on its own; a provider cannot be interrupted).
        """
        pieces: list[ContextPiece] = []
        budget = max_chars
        for entry in self.context_providers():
            if provider_ids is not None and entry.provider.id not in provider_ids:
                continue
            if budget <= 0:
                break
            request = ContextRequest(query, budget, self.context_for(entry.plugin_id))
            what = f"in the {entry.provider.label} context"
            call = partial(entry.provider.provide, request)
            try:
                if timeout is None:
                    provided = self._run(entry.plugin_id, what, call)
                else:
                    provided = self._run(entry.plugin_id, what, partial(_within, call, timeout, entry.provider.id))
            except PluginError:
                continue
            except _ProviderTimeout:
                self.host.notifier.notify(
                    f"The context provider {entry.provider.label} took more than {timeout:g} s, so it was left out "
                    "of this message.",
                    "warning",
                )
                continue
            except QuillpadError as err:
                self.host.notifier.notify(str(err), "warning")
                continue
            for piece in provided:
                if isinstance(piece, ContextPiece) and len(piece.text) <= budget:
                    pieces.append(replace(piece, source=entry.plugin_id))
                    budget -= len(piece.text)
        return pieces

    def registered_tools(self) -> list[RegisteredTool]:
        """Every tool the enabled plugins offer to agent mode (a ``ToolSource``)."""
        return [
            RegisteredTool(plugin_id, tool, self.context_for(plugin_id))
            for plugin_id, contributions in self._contributions.items()
            for tool in contributions.tools
        ]

    def panels(self) -> list[RegisteredPanel]:
        """Every panel plugins offer (for the GUI)."""
        return [
            RegisteredPanel(plugin_id, panel)
            for plugin_id, contributions in self._contributions.items()
            for panel in contributions.panels
        ]

    def create_panel(self, panel_id: str) -> Any:
        """Build a panel's widget; ``None`` if its plugin failed (it is then turned off)."""
        entry = next((p for p in self.panels() if p.panel.id == panel_id), None)
        if entry is None:
            raise PluginError(f"The panel {panel_id} is not available; its plugin may be turned off.")
        context = self.context_for(entry.plugin_id)
        try:
            what = f"creating the {entry.panel.title} panel"
            return self._run(entry.plugin_id, what, partial(entry.panel.factory, context))
        except PluginError:
            return None
