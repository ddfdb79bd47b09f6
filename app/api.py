"""The plugin API: the one module a Quillpad plugin imports.

A plugin is an object with an ``info`` attribute (``PluginInfo``) and methods
marked ``@hookimpl`` named after the hooks in
``app.core.plugins.hookspecs``; it is registered under the entry point group
``quillpad.plugins``::

    [project.entry-points."quillpad.plugins"]
    myplugin = "myplugin:plugin"

Everything here is free of Qt, so every plugin also runs headless; a panel
is declared as a factory that the GUI alone calls. Command handlers must not
block: to ask the model they return a ``ModelTurn``; other slow work they
return as ``BackgroundWork``, which the app runs off the GUI thread (Stop and
closing the window cancel it through its ``CancelToken``, whose ``on_cancel``
hooks stop work that blocks elsewhere). A panel runs its own slow work with
``PluginContext.run_in_background``, on the window's task helper. A command gets the
chat's ``conversation_id``; options declared in ``PluginInfo.settings`` appear
in Settings ▸ Plugins and are read with ``PluginContext.option``. Tools for
agent mode come from the ``quillpad_tools`` hook as ``Tool`` objects (read-only
unless ``acting``); their ``run`` gets a ``ToolInvocation`` whose ``token`` Stop
and the time limit set. What is not
exported here is not part of the API and may change.
"""

from app.core.agent.paths import project_path
from app.core.edits.diff import DiffLine, Hunk
from app.core.edits.document import Document, Editor, Selection
from app.core.edits.grammar import edit_grammar
from app.core.edits.parser import CodeFence, EditBlock, ParseResult, parse_edits
from app.core.edits.proposal import EditProposal, EditTarget, FileChange, build_edit_proposal, replacement_proposal
from app.core.edits.rules import EDIT_RULES
from app.core.edits.safety import Finding, SafetyReport, scan_python
from app.core.edits.thinking import strip_thinking
from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent, Notice, ThinkingText
from app.core.engine.options import ChatMessage
from app.core.errors import QuillpadError
from app.core.git.repository import RepoState
from app.core.mathcheck import (
    MATH_INSTRUCTION,
    AnswerResult,
    CheckCancelled,
    CheckerError,
    CheckOptions,
    CheckReport,
    CheckWorker,
    StepResult,
    extract_steps,
    find_boxed,
    report_markdown,
    verify_solution,
)
from app.core.plugins.background import BackgroundWork, Cancelled, CancelToken
from app.core.plugins.context import MissingCapabilityError, PluginContext, ResultSink
from app.core.plugins.contributions import (
    API_VERSION,
    AskOptions,
    Capability,
    CommandInvocation,
    CommandResult,
    ContextPiece,
    ContextProvider,
    ContextRequest,
    EditorAction,
    ModelTurn,
    OptionValue,
    PanelSpec,
    PluginInfo,
    PluginSetting,
    SlashCommand,
    SystemPrompt,
)
from app.core.plugins.hookspecs import hookimpl
from app.core.plugins.services import (
    GitAccess,
    ModelClient,
    NoticeLevel,
    Notifier,
    ProjectAccess,
    RepoMapAccess,
    RunResult,
    Sandbox,
    SearchHit,
    SettingsSection,
)
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.runner import SandboxError, SandboxLimits, SandboxResult, run_python, run_sandboxed
from app.core.testing.junit import CaseResult, TestReport
from app.core.testing.nodes import node_at_line
from app.core.testing.runner import TestRun, TestRunError, TestRunResult
from app.core.toolcalls.tools import Tool, ToolInvocation, ToolResult

__all__ = [
    "API_VERSION",
    "EDIT_RULES",
    "MATH_INSTRUCTION",
    "AnswerResult",
    "AnswerText",
    "AskOptions",
    "BackgroundWork",
    "CancelToken",
    "Cancelled",
    "Capability",
    "CaseResult",
    "ChatMessage",
    "CheckCancelled",
    "CheckOptions",
    "CheckReport",
    "CheckWorker",
    "CheckerError",
    "CodeFence",
    "CommandInvocation",
    "CommandResult",
    "ContextPiece",
    "ContextProvider",
    "ContextRequest",
    "DiffLine",
    "Document",
    "Done",
    "EditBlock",
    "EditProposal",
    "EditTarget",
    "Editor",
    "EditorAction",
    "EngineError",
    "EngineEvent",
    "FileChange",
    "Finding",
    "GitAccess",
    "Hunk",
    "IsolationUnavailable",
    "MissingCapabilityError",
    "ModelClient",
    "ModelTurn",
    "Notice",
    "NoticeLevel",
    "Notifier",
    "OptionValue",
    "PanelSpec",
    "ParseResult",
    "PluginContext",
    "PluginInfo",
    "PluginSetting",
    "ProjectAccess",
    "QuillpadError",
    "RepoMapAccess",
    "RepoState",
    "ResultSink",
    "RunResult",
    "SafetyReport",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "SearchHit",
    "Selection",
    "SettingsSection",
    "SlashCommand",
    "StepResult",
    "SystemPrompt",
    "TestReport",
    "TestRun",
    "TestRunError",
    "TestRunResult",
    "ThinkingText",
    "Tool",
    "ToolInvocation",
    "ToolResult",
    "build_edit_proposal",
    "edit_grammar",
    "extract_steps",
    "find_boxed",
    "hookimpl",
    "node_at_line",
    "parse_edits",
    "project_path",
    "replacement_proposal",
    "report_markdown",
    "run_python",
    "run_sandboxed",
    "scan_python",
    "strip_thinking",
    "verify_solution",
]
