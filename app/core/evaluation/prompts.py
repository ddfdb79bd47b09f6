"""The messages put to the model for each task kind.

Math follows the instruction Qwen3's model card recommends for math problems
("Please reason step by step, and put your final answer within \\boxed{}.").
Code uses the self-contained instruction of EvalPlus for chat models
(HumanEval) and the original MBPP prompt (the task and its tests). Changing
any of this changes results: bump ``PROMPT_VERSION`` so old runs do not resume
into new ones.
"""

from __future__ import annotations

from app.core.engine.options import ChatMessage
from app.core.evaluation.tasks import EvalTask

PROMPT_VERSION = 1

MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
HUMANEVAL_INSTRUCTION = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)


def build_messages(task: EvalTask) -> tuple[ChatMessage, ...]:
    """The conversation (a single user turn) that asks ``task``."""
    if task.kind == "humaneval":
        text = f"{HUMANEVAL_INSTRUCTION}\n```python\n{task.prompt.rstrip()}\n```"
    elif task.kind == "mbpp":
        tests = "\n".join(task.test_list)
        text = (
            f"You are an expert Python programmer, and here is your task: {task.prompt.strip()} "
            f"Your code should pass these tests:\n\n{tests}\n\n"
            "Write the solution as Python in a markdown code block."
        )
    else:
        text = f"{task.prompt.strip()}\n{MATH_INSTRUCTION}"
    return (ChatMessage("user", text),)


def prompt_text(messages: tuple[ChatMessage, ...]) -> str:
    """The messages as one readable text for reports."""
    return "\n\n".join(f"[{m.role}]\n{m.content}" for m in messages)
