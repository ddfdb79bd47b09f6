"""Scoring one answer: code runs against the task's tests in the sandbox;
math answers are extracted and compared.

The test program for a code task is assembled the same way for a model's
reply, the dataset's own solution (``--canonical``) and an empty one
(``--empty``), so the self-check exercises exactly the path real runs take.
"""

from __future__ import annotations

import math
import re
import secrets
import sys
from dataclasses import dataclass

from app.core.evaluation.equivalence import AnswerJudge
from app.core.evaluation.extract import Extracted, extract_answer, extract_code
from app.core.evaluation.tasks import EvalTask
from app.core.sandbox.runner import SandboxLimits, SandboxResult, run_sandboxed

DEFAULT_TIMEOUT = 10.0
STDERR_KEPT = 2000


@dataclass(frozen=True)
class Score:
    """Pass or fail, why, and what was judged."""

    passed: bool
    reason: str
    extracted: str | None
    method: str
    stderr: str = ""
    seconds: float = 0.0


def _indent_body(code: str) -> str:
    lines = code.splitlines()
    first = next((line for line in lines if line.strip()), "")
    if first and not first[0].isspace():
        return "\n".join(("    " + line) if line.strip() else line for line in lines) + "\n"
    return code


def humaneval_program(task: EvalTask, code: str) -> str:
    """Prompt, solution and tests as one program ending in ``check(entry_point)``.

    A reply that defines the function itself is placed after the prompt (its
    definition replaces the stub, while the prompt's imports and helpers stay);
    a bare body is appended to the stub, indented if the model did not.
    """
    defines = re.search(rf"^(?:async\s+)?def\s+{re.escape(task.entry_point)}\s*\(", code, re.M)
    solution = task.prompt.rstrip() + "\n    pass\n\n\n" + code if defines else task.prompt + _indent_body(code)
    return f"{solution}\n\n{task.tests}\n\ncheck({task.entry_point})\n"


def mbpp_program(task: EvalTask, code: str) -> str:
    """Setup code, solution and the task's assertions as one program."""
    return f"{task.setup}\n{code}\n\n{task.tests}\n"


_FUTURE = re.compile(r"^from\s+__future__\s+import\s+[^\n]*\n?", re.M)


def _hoist_future_imports(program: str) -> str:
    """``from __future__`` lines must come first: a reply's own, placed after the prompt, is moved up."""
    found = [line.strip() for line in _FUTURE.findall(program)]
    if not found:
        return program
    return "\n".join(dict.fromkeys(found)) + "\n" + _FUTURE.sub("", program)


def program_for(task: EvalTask, code: str) -> str:
    """The test program of a code task."""
    program = humaneval_program(task, code) if task.kind == "humaneval" else mbpp_program(task, code)
    return _hoist_future_imports(program)


def _failure_reason(result: SandboxResult, timeout: float) -> str:
    if result.timed_out:
        return f"timed out after {timeout:g} s"
    if result.cpu_limit_hit:
        return "used more CPU time than allowed"
    if result.signal:
        return f"ended by {result.signal}"
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else f"exit code {result.exit_code}"
    return last[:300]


# The sandbox runs this loader, which runs the test program under another
# module name: a reply's own ``if __name__ == "__main__":`` demo (often reading
# input() or running at length) is skipped, as EvalPlus's sanitiser would drop
# it. The nonce is printed only after the last test line returned: a program
# that exits early (``sys.exit(0)``, ``os._exit(0)``) exits 0 without it and
# fails rather than passing untested.
_LOADER = """import os, sys, types
module = types.ModuleType("solution")
module.__file__ = os.path.abspath("program.py")
sys.modules["solution"] = module
with open("program.py", encoding="utf-8") as source:
    code = compile(source.read(), module.__file__, "exec")
exec(code, module.__dict__)
try:
    sys.stdout.flush()
except Exception:
    pass
os.write(1, b"\\n{nonce}\\n")
"""


def run_code(task: EvalTask, code: str, timeout: float = DEFAULT_TIMEOUT, *, allow_unisolated: bool = False) -> Score:
    """Run ``code`` against ``task``'s tests in the sandbox within ``timeout`` seconds.

    Without isolation on this system it raises ``IsolationUnavailable`` unless
    ``allow_unisolated`` (the user's ``--unsafe-no-isolation``).
    """
    limits = SandboxLimits(wall_seconds=timeout, cpu_seconds=max(1, math.ceil(timeout)))
    nonce = f"quillpad-tests-finished-{secrets.token_hex(12)}"
    result = run_sandboxed(
        [sys.executable, "-I", "main.py"],
        files={"main.py": _LOADER.format(nonce=nonce), "program.py": program_for(task, code)},
        limits=limits,
        allow_unisolated=allow_unisolated,
    )
    finished = result.stdout.rstrip().endswith(nonce)
    passed = result.exit_code == 0 and not result.timed_out and finished
    if passed:
        reason = "passed"
    elif result.exit_code == 0 and result.stdout_truncated:
        reason = "printed more output than kept (1 MiB), so the end of the tests could not be seen"
    elif result.exit_code == 0 and not result.timed_out:
        reason = "the program ended before its tests finished"
    else:
        reason = _failure_reason(result, timeout)
    return Score(passed, reason, None, "", result.stderr[-STDERR_KEPT:], result.wall_seconds)


def score_code_reply(
    task: EvalTask, reply: str, timeout: float = DEFAULT_TIMEOUT, *, allow_unisolated: bool = False
) -> Score:
    """Extract the code of a model reply and run it against the tests."""
    extracted = extract_code(reply)
    if extracted.value is None:
        return Score(False, "no code in the reply", None, "")
    score = run_code(task, extracted.value, timeout, allow_unisolated=allow_unisolated)
    return Score(score.passed, score.reason, extracted.value, extracted.method, score.stderr, score.seconds)


def score_math_reply(task: EvalTask, reply: str, judge: AnswerJudge) -> Score:
    """Extract the final answer and compare it with the reference (SymPy for MATH)."""
    extracted: Extracted = extract_answer(reply)
    if extracted.value is None:
        return Score(False, "no answer found", None, "")
    verdict = judge.equivalent(extracted.value, task.answer, symbolic=task.kind == "math")
    reason = "passed" if verdict.equal else f"wrong answer ({verdict.how}; expected {task.answer})"
    return Score(verdict.equal, reason, extracted.value, extracted.method)
