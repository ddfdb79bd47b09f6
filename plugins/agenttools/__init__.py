"""The built-in agent tools: the project's files, search, repo map, git, tests, sandbox and edits.

Each is a ``Tool`` contributed through the ``quillpad_tools`` hook, exactly
as a third-party plugin would add one. Read-only tools look at the project;
the acting ones (running tests, running Python, proposing an edit) wait for
the user's approval, and an edit is still only written after the user
accepts it in the diff review.
"""

from __future__ import annotations

from plugins.agenttools.tools import AgentToolsPlugin

plugin = AgentToolsPlugin()

__all__ = ["AgentToolsPlugin", "plugin"]
