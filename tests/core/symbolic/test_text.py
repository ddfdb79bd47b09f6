"""LaTeX as text: boxed answers, balance and the plain form shown to people."""

from __future__ import annotations

from app.core.symbolic.text import balanced, find_boxed, last_boxed, markdown_math, plain_text


def test_boxed_answers_are_found_with_balanced_braces() -> None:
    text = r"so $\boxed{\frac{1}{2}}$ and then \boxed{x = 3} and \fbox{7}"
    assert [content for _, _, content in find_boxed(text)] == [r"\frac{1}{2}", "x = 3", "7"]
    assert last_boxed(text) == "7"
    assert last_boxed(r"the answer is \boxed 5.") == "5."
    assert last_boxed(r"\boxed{unclosed") is None


def test_the_answer_line_has_no_raw_latex() -> None:
    assert plain_text(r"x = 2 \text{ or } x = 3") == "x = 2 or x = 3"
    assert plain_text(r"\frac{1}{2} \pm \sqrt{3}") == "(1)/(2) ± √(3)"
    assert markdown_math(r"x = 2 \text{ or } x = 3") == "$x = 2$ or $x = 3$"
    assert "\\" not in plain_text(r"(-\infty, 4] \cup \{5\}")


def test_balance() -> None:
    assert balanced(r"\frac{a}{b}") and not balanced(r"\frac{a}{b") and not balanced("}{")
