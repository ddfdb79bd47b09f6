"""Scoring replies: code in the sandbox against the tests, math answers by equivalence."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.evaluation.datasets import load_dataset
from app.core.evaluation.equivalence import AnswerJudge
from app.core.evaluation.scoring import humaneval_program, run_code, score_code_reply, score_math_reply
from app.core.evaluation.tasks import EvalTask

HE = load_dataset("humaneval").tasks[0]  # has_close_elements(numbers, threshold)
CORRECT_BODY = (
    "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
    "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n"
)
FULL_FUNCTION = (
    "```python\nfrom typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
    + CORRECT_BODY
    + "```"
)


def test_a_reply_with_the_whole_function_passes() -> None:
    score = score_code_reply(HE, "Here you go:\n" + FULL_FUNCTION + "\nIt compares all pairs.")
    assert (score.passed, score.reason, score.method) == (True, "passed", "code block")


def test_a_bare_body_is_appended_to_the_stub_and_indented_if_needed() -> None:
    assert score_code_reply(HE, f"```python\n{CORRECT_BODY}```").passed
    unindented = "\n".join(line[4:] for line in CORRECT_BODY.splitlines())
    assert score_code_reply(HE, f"```python\n{unindented}\n```").passed


def test_wrong_code_fails_with_the_error_as_reason() -> None:
    wrong = score_code_reply(HE, "```python\n    return True\n```")
    assert not wrong.passed
    assert wrong.reason == "AssertionError"
    broken = score_code_reply(HE, "```python\ndef has_close_elements(numbers, threshold):\n    return (\n```")
    assert not broken.passed
    assert "SyntaxError" in broken.reason
    missing = score_code_reply(HE, "```python\ndef something_else():\n    return 1\n```")
    assert not missing.passed


def test_a_hanging_solution_is_stopped_at_the_timeout() -> None:
    score = score_code_reply(HE, "```python\n    while True:\n        pass\n```", timeout=1.0)
    assert not score.passed
    assert score.reason in ("timed out after 1 s", "used more CPU time than allowed")


def test_code_runs_in_a_throwaway_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    # The test program runs in a throwaway folder: writing a file there does not
    # leave it behind, and the run's own folder is not the caller's.
    body = f"    open('left_behind.txt', 'w').write('x')\n    import os\n    return os.getcwd() != {str(tmp_path)!r}\n"
    task = EvalTask("t/1", "humaneval", "def f():\n", "", tests="def check(c):\n    assert c()\n", entry_point="f")
    assert run_code(task, body).passed
    assert not (tmp_path / "left_behind.txt").exists()


def test_program_assembly_is_prompt_solution_tests_check() -> None:
    program = humaneval_program(HE, HE.reference)
    assert program.startswith(HE.prompt)
    assert program.rstrip().endswith("check(has_close_elements)")


def test_mbpp_uses_setup_code_and_all_assertions() -> None:
    task = EvalTask(
        "mbpp/1",
        "mbpp",
        "t",
        "",
        tests="assert area(2) == 4 * PI_ISH\nassert area(0) == 0",
        setup="PI_ISH = 3",
        test_list=("assert area(2) == 4 * PI_ISH", "assert area(0) == 0"),
    )
    assert score_code_reply(task, "```python\ndef area(r):\n    return PI_ISH * r * r\n```").passed
    half = score_code_reply(task, "```python\ndef area(r):\n    return 12\n```")
    assert (half.passed, half.reason) == (False, "AssertionError")
    assert score_code_reply(task, "").reason == "no code in the reply"


def test_math_replies() -> None:
    gsm = EvalTask("g/0", "gsm8k", "q", "", answer="2340")
    math = EvalTask("m/0", "math", "q", "", answer=r"\frac{1}{3}")
    with AnswerJudge() as judge:
        assert score_math_reply(gsm, "She saves 45 * 52 = 2,340 dollars.\n#### 2,340", judge).passed
        assert score_math_reply(gsm, "The total is 2340 dollars.", judge).method == "last number"
        wrong = score_math_reply(gsm, r"\boxed{2300}", judge)
        assert (wrong.passed, wrong.extracted) == (False, "2300")
        assert "expected 2340" in wrong.reason
        assert score_math_reply(math, r"The probability is $\boxed{\dfrac{2}{6}}$.", judge).passed
        assert score_math_reply(math, "I cannot tell.", judge).reason == "no answer found"


def test_a_demo_under_a_main_guard_does_not_run() -> None:
    # Models often add a demo reading input(); with no input it would fail the task.
    reply = (
        FULL_FUNCTION
        + "\n```python\nif __name__ == '__main__':\n    print(has_close_elements(eval(input()), 0.5))\n```"
    )
    assert score_code_reply(HE, reply).passed


def test_exiting_early_does_not_pass_untested() -> None:
    for escape in ("import sys\nsys.exit(0)", "import os\nos._exit(0)", "raise SystemExit"):
        score = score_code_reply(HE, f"```python\n{escape}\n```")
        assert not score.passed, escape
        assert score.reason == "the program ended before its tests finished"


def test_solution_is_a_real_module_for_dataclasses_and_pickle() -> None:
    code = (
        "from __future__ import annotations\nimport pickle\nfrom dataclasses import dataclass\n\n"
        "@dataclass\nclass Point:\n    x: int\n\n"
        "def f():\n    return pickle.loads(pickle.dumps(Point(3))).x == 3\n"
    )
    task = EvalTask("t/2", "humaneval", "def f():\n", "", tests="def check(c):\n    assert c()\n", entry_point="f")
    assert run_code(task, code).passed
