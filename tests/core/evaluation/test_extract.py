"""Answer and code extraction from model replies."""

from __future__ import annotations

import pytest

from app.core.evaluation.extract import (
    extract_answer,
    extract_boxed,
    extract_code,
    extract_hash_answer,
    extract_last_number,
    split_thinking,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so the answer is $\boxed{\frac{5}{6}}$.", r"\frac{5}{6}"),
        (r"\boxed{1} first, then \boxed{2}", "2"),  # the last box counts
        (r"\boxed{\left(2, \sqrt{3}\right)}", r"\left(2, \sqrt{3}\right)"),  # nested braces
        (r"\boxed 7 apples", "7"),
        (r"\fbox{x=3}", "x=3"),
        ("no box here", None),
        (r"\boxed{unclosed", None),
    ],
)
def test_boxed(text: str, expected: str | None) -> None:
    assert extract_boxed(text) == expected


def test_hash_answer_takes_the_last_marker_and_drops_commas_and_units() -> None:
    assert extract_hash_answer("work\n#### 1,234 dollars") == "1234"
    assert extract_hash_answer("#### 3\nmore\n#### 4") == "4"
    assert extract_hash_answer("#### 2.50") == "2.5"
    assert extract_hash_answer("no marker 5") is None


def test_last_number() -> None:
    assert extract_last_number("first 3, then 4.0 and finally -12.") == "-12"
    assert extract_last_number("total: 2,340 dollars") == "2340"
    assert extract_last_number("half is 1/2") == "1/2"
    assert extract_last_number("nothing") is None


def test_answer_prefers_boxed_then_hash_then_last_number() -> None:
    assert (extract_answer(r"#### 5 but \boxed{6}").value, extract_answer(r"#### 5 but \boxed{6}").method) == (
        "6",
        "boxed",
    )
    assert extract_answer("so 3 and 4\n#### 7").method == "####"
    last = extract_answer("I think 12 or maybe 13")
    assert (last.value, last.method) == ("13", "last number")
    assert extract_answer("no idea").value is None


def test_code_from_python_blocks_joined_in_order() -> None:
    reply = (
        "Helper:\n```python\ndef helper():\n    return 1\n```\nMain:\n```python\ndef main():\n    return helper()\n```"
    )
    code = extract_code(reply)
    assert code.method == "code block"
    assert code.value is not None
    assert code.value.index("def helper") < code.value.index("def main")


def test_code_prefers_python_blocks_over_others_and_takes_unlabelled_ones() -> None:
    reply = "```bash\npip install x\n```\n```python\nx = 1\n```"
    assert extract_code(reply).value == "x = 1\n"
    assert extract_code("```\ny = 2\n```").value == "y = 2\n"


def test_code_from_an_unclosed_fence_and_from_a_bare_reply() -> None:
    assert extract_code("```python\ndef f():\n    return 3\n").value == "def f():\n    return 3\n"
    bare = extract_code("def f():\n    return 3\n")
    assert (bare.value, bare.method) == ("def f():\n    return 3\n", "whole reply")
    assert extract_code("   ").value is None


def test_inline_thinking_is_split_off_and_kept() -> None:
    answer, thinking = split_thinking("<think>\nlet me see, 2+2\n</think>\n\nThe answer is 4.", "")
    assert answer == "The answer is 4."
    assert "let me see" in thinking
    # Thinking the engine already routed apart is kept as it is.
    assert split_thinking("plain", "earlier thoughts") == ("plain", "earlier thoughts")
    # A reply cut off while thinking has no answer.
    assert split_thinking("<think>still going", "")[0] == ""
