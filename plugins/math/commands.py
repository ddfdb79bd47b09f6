"""/steps, /check, /hint and /tutor, and the editor actions that share their handlers.

Verification runs SymPy in a worker process with a time limit per call, so a
hard expression cannot freeze the app, and it is handed to the app as
``BackgroundWork``, so the window stays responsive and Stop ends it; the
report is Markdown with a mark per step and a badge for the answer, which the
chat renders with MathML. Tutor state is kept per chat conversation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial

from app.api import (
    AskOptions,
    BackgroundWork,
    CancelToken,
    CheckerError,
    CommandInvocation,
    CommandResult,
    ModelTurn,
    PluginContext,
    extract_steps,
    find_boxed,
    report_markdown,
    verify_solution,
)
from plugins.math import prompts

SOLVED = re.compile(r"[a-zA-Z]\s*=\s*-?\s*(\d+(\.\d+)?|\\frac\{\d+\}\{\d+\})")
NO_PROBLEM = "Give a problem, for example `/steps solve $2x + 3 = 7$`."
NO_WORKING = "Paste your working after `/check`, or select it in the editor; one step per line, math in `$…$`."


TUTOR_MODE = "tutor_mode"


@dataclass
class TutorState:
    """The problem being tutored in one conversation and the hints given so far."""

    problem: str = ""
    hints: list[str] = field(default_factory=list)


@dataclass
class Tutors:
    """Tutor state per chat conversation (``None``: input outside any conversation)."""

    states: dict[int | None, TutorState] = field(default_factory=dict)

    def of(self, invocation: CommandInvocation) -> TutorState:
        """The state of the conversation the command was typed in."""
        return self.states.setdefault(invocation.conversation_id, TutorState())


def tutor_on(context: PluginContext) -> bool:
    """Whether tutor mode is on (the declared option ``tutor_mode``, in Settings ▸ Plugins)."""
    return bool(context.option(TUTOR_MODE))


def _options(context: PluginContext) -> AskOptions:
    max_tokens = context.settings.get("max_tokens")
    return AskOptions(max_tokens=int(max_tokens) if max_tokens else None)


def _selected(context: PluginContext) -> str:
    document = context.current_document()
    if document is None:
        return ""
    return document.selection().text or document.text()


def checking(text: str) -> str:
    """What the chat shows while ``text`` is checked, e.g. "Checking 7 steps…"."""
    count = len(extract_steps(text).steps)
    return f"Checking {count} step{'' if count == 1 else 's'}…"


def checked(problem: str, answer: str) -> CommandResult:
    """Verify the model's step-by-step answer off the GUI thread and show the marks."""

    def run(token: CancelToken) -> CommandResult:
        try:
            report = verify_solution(answer, problem=problem, cancelled=lambda: token.cancelled)
        except CheckerError as err:
            return CommandResult(message=str(err))
        return CommandResult(message=report_markdown(report, "Steps checked by SymPy"))

    return CommandResult(background=BackgroundWork(checking(answer), run))


def steps(tutors: Tutors, invocation: CommandInvocation) -> CommandResult:
    """Ask the model for a checked step-by-step solution; in tutor mode, start with one hint instead."""
    problem = invocation.args.strip() or _selected(invocation.context).strip()
    if not problem:
        return CommandResult(message=NO_PROBLEM)
    context = invocation.context
    context.require("/steps", "model")
    if tutor_on(context):
        state = tutors.of(invocation)
        state.problem, state.hints = problem, []
        return hint(tutors, CommandInvocation("hint", "", context, invocation.conversation_id))
    return CommandResult(
        ask=ModelTurn(
            prompts.steps_messages(problem), _options(context), "Solving step by step", partial(checked, problem)
        )
    )


def _gives_answer_away(hint_text: str) -> bool:
    """A boxed answer, or a formula such as ``x = 2`` (an unknown set to a plain number)."""
    if find_boxed(hint_text):
        return True
    formulas = [formula for step in extract_steps(hint_text).steps for formula in step.math]
    return any(SOLVED.fullmatch(formula.strip().rstrip(".")) for formula in formulas)


def _hint_given(state: TutorState, answer: str) -> CommandResult:
    if _gives_answer_away(answer):
        # The model gave the answer away: keep it back, as tutor mode promises.
        return CommandResult(message="(The hint gave away the answer, so it was held back; try `/hint` again.)")
    state.hints.append(answer.strip())
    return CommandResult(message=f"_Hint {len(state.hints)}. `/hint` for another, `/hint answer` for the solution._")


def hint(tutors: Tutors, invocation: CommandInvocation) -> CommandResult:
    """One more hint for this conversation's tutored problem; ``/hint answer`` reveals the checked solution."""
    context = invocation.context
    state = tutors.of(invocation)
    args = invocation.args.strip()
    if args and args.lower() not in ("answer", "solution"):
        state.problem, state.hints = args, []
        args = ""
    if not state.problem:
        return CommandResult(message="There is no problem to give hints for; start with `/hint PROBLEM` or `/steps`.")
    context.require("/hint", "model")
    if args:
        problem = state.problem
        state.problem, state.hints = "", []
        return CommandResult(
            ask=ModelTurn(prompts.steps_messages(problem), _options(context), "The solution", partial(checked, problem))
        )
    messages = prompts.hint_messages(state.problem, state.hints)
    options = AskOptions(max_tokens=_options(context).max_tokens, thinking=False)
    return CommandResult(ask=ModelTurn(messages, options, f"Hint {len(state.hints) + 1}", partial(_hint_given, state)))


def check(invocation: CommandInvocation) -> CommandResult:
    """Mark each step of the student's own working; with a model, explain the first wrong step."""
    context = invocation.context
    working = invocation.args.strip() or _selected(context).strip()
    if not working:
        return CommandResult(message=NO_WORKING)
    max_tokens = _options(context).max_tokens

    def run(token: CancelToken) -> CommandResult:
        try:
            report = verify_solution(working, cancelled=lambda: token.cancelled)
        except CheckerError as err:
            return CommandResult(message=str(err))
        message = report_markdown(report, "Your working, checked by SymPy")
        wrong = report.first_wrong
        # context.has only reads whether a model is loaded: safe from the worker thread.
        if wrong is None or not context.has("model"):
            return CommandResult(message=message)
        return CommandResult(
            message=message,
            ask=ModelTurn(
                prompts.explain_messages(working, wrong),
                AskOptions(max_tokens=max_tokens, thinking=False),
                f"Explaining step {wrong.index}",
            ),
        )

    return CommandResult(background=BackgroundWork(checking(working), run))


def tutor(invocation: CommandInvocation) -> CommandResult:
    """Turn tutor mode on or off (``/tutor on``, ``/tutor off``); no argument shows it."""
    context = invocation.context
    arg = invocation.args.strip().lower()
    if arg in ("on", "off"):
        context.set_option(TUTOR_MODE, arg == "on")
    state = "on: /steps and /hint give one hint at a time" if tutor_on(context) else "off"
    return CommandResult(message=f"Tutor mode is {state}.")
