"""The built-in math plugin: /steps, /check, /hint, /tutor and editor actions.

The model explains step by step and SymPy checks every step it can (through
``app.api``'s ``verify_solution``); students can check their own working
without a model. Registered through the ``quillpad.plugins`` entry point.
"""

from __future__ import annotations

from functools import partial

from app.api import (
    MATH_INSTRUCTION,
    EditorAction,
    PluginContext,
    PluginInfo,
    PluginSetting,
    SlashCommand,
    SystemPrompt,
    hookimpl,
)
from plugins.math import commands

__version__ = "0.1.0"


class MathPlugin:
    """Step-by-step explanations checked by SymPy, "check my working", and tutor mode."""

    info = PluginInfo(
        name="Math",
        version=__version__,
        description="Step-by-step solutions checked by SymPy, checking your own working, and hints one at a time.",
        settings=(
            PluginSetting(
                commands.TUTOR_MODE,
                "Tutor mode: hints one at a time, the answer only when asked",
                False,
                "/steps and /hint give one hint at a time; /hint answer shows the checked solution. "
                "/tutor on|off changes this too.",
            ),
        ),
    )

    def __init__(self) -> None:
        self.tutors = commands.Tutors()  # per conversation

    @hookimpl
    def quillpad_slash_commands(self, context: PluginContext) -> list[SlashCommand]:
        return [
            SlashCommand(
                "steps",
                "solve step by step, each step checked by SymPy",
                partial(commands.steps, self.tutors),
                "<problem>",
            ),
            SlashCommand("check", "check your own working step by step", commands.check, "<your working>"),
            SlashCommand(
                "hint",
                "one hint at a time (`/hint answer` for the solution)",
                partial(commands.hint, self.tutors),
                "[problem|answer]",
            ),
            SlashCommand("tutor", "turn tutor mode on or off", commands.tutor, "[on|off]"),
        ]

    @hookimpl
    def quillpad_editor_actions(self, context: PluginContext) -> list[EditorAction]:
        return [
            EditorAction(
                "math.steps", "Solve step by step (checked)", partial(commands.steps, self.tutors), needs_selection=True
            ),
            EditorAction("math.check", "Check my working", commands.check, needs_selection=True),
        ]

    @hookimpl
    def quillpad_system_prompts(self, context: PluginContext) -> list[SystemPrompt]:
        return [SystemPrompt("math", MATH_INSTRUCTION)]


plugin = MathPlugin()
