"""Checking mathematics step by step with SymPy (no Qt).

``verify_solution`` splits a worked solution into steps (``extract``), runs a
SymPy session in a worker process (``pool``, ``worker``, ``session``,
``checks``, ``parsing``) and returns a plain ``CheckReport``: each step
verified, wrong (with a counter-example or the right value) or not
checkable, and a badge for the final answer. ``render`` turns it into
Markdown for the chat or text for the terminal.
"""

from app.core.mathcheck.extract import Extraction, StepText, extract_steps, problem_formula
from app.core.mathcheck.pool import CheckCancelled, CheckerError, CheckWorker
from app.core.mathcheck.render import report_markdown, report_text
from app.core.mathcheck.report import AnswerResult, Badge, CheckReport, Mark, StepResult
from app.core.mathcheck.verify import CheckOptions, verify_solution
from app.core.symbolic.text import find_boxed

MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."

__all__ = [
    "MATH_INSTRUCTION",
    "AnswerResult",
    "Badge",
    "CheckCancelled",
    "CheckOptions",
    "CheckReport",
    "CheckWorker",
    "CheckerError",
    "Extraction",
    "Mark",
    "StepResult",
    "StepText",
    "extract_steps",
    "find_boxed",
    "problem_formula",
    "report_markdown",
    "report_text",
    "verify_solution",
]
