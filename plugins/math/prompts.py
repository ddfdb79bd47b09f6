"""What the math plugin says to the model."""

from __future__ import annotations

from app.api import MATH_INSTRUCTION, ChatMessage, StepResult

STEPS_SYSTEM = (
    "You are a careful math teacher. Write each step on its own line, with the mathematics in LaTeX "
    "between $ signs, one equation or expression per line."
)
TUTOR_SYSTEM = (
    "You are a patient math tutor. Give exactly ONE short hint for the student's next step, as a question or "
    "a nudge. Never state the final answer and never solve the whole problem."
)
EXPLAIN_SYSTEM = (
    "You are a kind math teacher. Explain in plain words, in two to four sentences, what is wrong in the one "
    "step the student is shown and how to fix that step. Do not solve the rest of the problem or give the "
    "final answer."
)


def steps_messages(problem: str) -> tuple[ChatMessage, ...]:
    """Ask for a step-by-step solution with a boxed answer (Qwen3's math instruction)."""
    return (ChatMessage("system", STEPS_SYSTEM), ChatMessage("user", f"{problem}\n\n{MATH_INSTRUCTION}"))


def hint_messages(problem: str, hints: list[str]) -> tuple[ChatMessage, ...]:
    """Ask for the next single hint, given those already given."""
    given = "".join(f"\nHint {i}: {hint}" for i, hint in enumerate(hints, start=1))
    ask = f"Problem: {problem}\n"
    ask += f"Hints given so far:{given}\n\nGive the next hint only." if hints else "\nGive the first hint only."
    return (ChatMessage("system", TUTOR_SYSTEM), ChatMessage("user", ask))


def explain_messages(working: str, step: StepResult) -> tuple[ChatMessage, ...]:
    """Ask for a plain-words explanation of the first wrong step, nothing more."""
    ask = (
        f"A student's working:\n\n{working}\n\nStep {step.index} is wrong: {step.text}\n"
        f"A checker found: {step.reason}\n\nExplain the mistake in this step only."
    )
    return (ChatMessage("system", EXPLAIN_SYSTEM), ChatMessage("user", ask))
