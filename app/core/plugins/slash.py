"""Slash commands in the chat: reading ``/name args``, completion, and /help.

A message is a command when it starts with ``/`` and a name (``/gen make
it faster``). ``//`` at the start sends the rest as ordinary text with one
slash, and text such as ``/usr/bin is missing`` is not a command because a
path character follows the name.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.core.plugins.contributions import SlashCommand

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_CALL_RE = re.compile(r"^/([A-Za-z][\w-]*)(?:\s+(.*))?$", re.DOTALL)
HELP_COMMAND = "help"
CORE_ID = "quillpad"


@dataclass(frozen=True)
class SlashCall:
    """A parsed command: its name (lower case) and the text after it."""

    name: str
    args: str


@dataclass(frozen=True)
class RegisteredCommand:
    """A command and the plugin that provides it (``quillpad`` for /help)."""

    plugin_id: str
    command: SlashCommand


@dataclass(frozen=True)
class Completion:
    """One completion candidate for the chat box."""

    name: str
    text: str  # what to put in the box, e.g. "/gen "
    help: str
    argument_hint: str
    plugin_id: str


def parse_slash(text: str) -> SlashCall | None:
    """The command in ``text``, or ``None`` when it is ordinary text."""
    stripped = text.strip()
    if not stripped.startswith("/") or stripped.startswith("//"):
        return None
    match = _CALL_RE.match(stripped)
    if match is None:
        return None
    return SlashCall(match.group(1).lower(), (match.group(2) or "").strip())


def unescape(text: str) -> str:
    """Ordinary text for a message starting with ``//`` (one slash is dropped)."""
    stripped = text.lstrip()
    return stripped[1:] if stripped.startswith("//") else text


def complete(text: str, commands: Iterable[RegisteredCommand]) -> list[Completion]:
    """Commands whose name starts with what follows the ``/`` in ``text``.

    Nothing once a space has been typed (the user is writing arguments).
    """
    if not text.startswith("/") or text.startswith("//") or any(c.isspace() for c in text):
        return []
    prefix = text[1:].lower()
    found = [
        Completion(
            name=entry.command.name,
            text=f"/{entry.command.name} ",
            help=entry.command.help,
            argument_hint=entry.command.argument_hint,
            plugin_id=entry.plugin_id,
        )
        for entry in commands
        if entry.command.name.startswith(prefix)
    ]
    return sorted(found, key=lambda completion: (completion.name != prefix, completion.name))


def suggestion(name: str, names: Iterable[str]) -> str:
    """`` Did you mean /gen?`` for a near miss, else an empty string."""
    close = difflib.get_close_matches(name, list(names), n=1, cutoff=0.6)
    return f" Did you mean /{close[0]}?" if close else ""


def help_text(commands: Iterable[RegisteredCommand]) -> str:
    """The /help reply: every command with its arguments and what it does (Markdown)."""
    rows = ["Commands (type one at the start of a message):", ""]
    for entry in sorted(commands, key=lambda entry: entry.command.name):
        command = entry.command
        usage = f"/{command.name}" + (f" {command.argument_hint}" if command.argument_hint else "")
        origin = "" if entry.plugin_id == CORE_ID else f" *({entry.plugin_id})*"
        rows.append(f"- `{usage}` — {command.help}{origin}")
    rows += ["", "Start a message with `//` to send text that begins with a slash."]
    return "\n".join(rows)
