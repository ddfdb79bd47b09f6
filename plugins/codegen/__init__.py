"""The built-in code-generation plugin: /gen, /explain, /edit and their editor actions.

It uses the public plugin API only (``app.api``), exactly as a third-party
plugin would, and is registered through the ``quillpad.plugins`` entry point.
"""

from __future__ import annotations

from functools import partial

from app.api import (
    ContextPiece,
    ContextProvider,
    ContextRequest,
    EditorAction,
    PluginContext,
    PluginInfo,
    SlashCommand,
    SystemPrompt,
    hookimpl,
)
from plugins.codegen import commands, prompts
from plugins.codegen.source import excerpt, language_of

__version__ = "0.1.0"


def _current_file(request: ContextRequest) -> list[ContextPiece]:
    document = request.context.current_document()
    if document is None or not document.text().strip():
        return []
    path = document.path()
    selection = document.selection()
    text = excerpt(document.text(), selection.start, selection.end, request.max_chars)
    return [ContextPiece(path.name if path else "untitled", text, language_of(path))]


class CodegenPlugin:
    """Code generation: write at the cursor, explain a selection, edit a selection or file."""

    info = PluginInfo(
        name="Code generation",
        version=__version__,
        description="Write code at the cursor, explain a selection, and edit code with a reviewed diff.",
        requires=("model", "editor"),
    )

    @hookimpl
    def quillpad_slash_commands(self, context: PluginContext) -> list[SlashCommand]:
        return [
            SlashCommand("gen", "write code at the cursor", commands.generate, "<what to write>"),
            SlashCommand("explain", "explain the selection (or the file)", commands.explain, "[question]"),
            SlashCommand(
                "edit", "change the selection (or the file), shown as a diff first", commands.edit, "<instruction>"
            ),
        ]

    @hookimpl
    def quillpad_editor_actions(self, context: PluginContext) -> list[EditorAction]:
        return [
            EditorAction("codegen.explain", "Explain selection", commands.explain, needs_selection=True),
            EditorAction(
                "codegen.edit-selection",
                "Edit selection…",
                commands.edit,
                needs_selection=True,
                input_prompt="How should the selected code change?",
            ),
            EditorAction(
                "codegen.edit-file",
                "Edit file…",
                partial(commands.edit, whole_file=True),
                input_prompt="How should this file change?",
            ),
            EditorAction(
                "codegen.generate", "Generate code here…", commands.generate, input_prompt="What should the code do?"
            ),
        ]

    @hookimpl
    def quillpad_system_prompts(self, context: PluginContext) -> list[SystemPrompt]:
        return [SystemPrompt("code", prompts.CODE_MODE)]

    @hookimpl
    def quillpad_context_providers(self, context: PluginContext) -> list[ContextProvider]:
        return [
            ContextProvider(
                "codegen.current-file",
                "Current file",
                _current_file,
                "the file being edited, around the cursor",
            )
        ]


plugin = CodegenPlugin()
