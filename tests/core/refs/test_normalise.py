from __future__ import annotations

from app.core.refs.normalise import language_of, normalise, python_tokens

ORIGINAL = '''
def total_price(items, tax_rate=0.2):
    """Sum of prices with tax."""
    subtotal = 0
    for item in items:  # every line
        subtotal += item.price * item.quantity
    return round(subtotal * (1 + tax_rate), 2)
'''

DISGUISED = """
def compute(things,
            r=0.5):
  # a different comment
  acc=0
  for t in things:
    acc+=t.price*t.quantity
  return round(acc*(1+r),2,)
"""


def test_renaming_reformatting_and_comments_do_not_change_the_tokens() -> None:
    assert python_tokens(ORIGINAL).tokens == python_tokens(DISGUISED).tokens


def test_keywords_builtins_and_operators_are_kept() -> None:
    tokens = python_tokens(ORIGINAL).tokens
    assert {"def", "for", "in", "return", "round", "+=", "*"} <= set(tokens)
    assert "subtotal" not in tokens and "0.2" not in tokens


def test_tokens_keep_their_lines() -> None:
    stream = python_tokens(ORIGINAL)
    assert stream.lines[0] == 2  # the "def" line; the docstring is on line 3
    assert stream.lines[-1] == 7


def test_broken_python_gives_tokens_without_raising() -> None:
    cut = "    x = compute(1,\n        2\n  y = 3\nprint(x"  # stray indents and an unclosed call
    stream = python_tokens(cut)
    assert len(stream) > 5


def test_other_languages_go_through_pygments() -> None:
    first = "function add(a, b) {\n  // sum\n  return a + b * 2;\n}\n"
    second = "function plus(x,y){return x+y*7;}"
    language = language_of("lib.js")
    assert language is not None and language != "python"
    assert normalise(first, language).tokens == normalise(second, language).tokens
    assert language_of(tag="python") == "python"
    assert language_of(tag="no-such-language") is None


def test_soft_keywords_used_as_names_are_abstracted() -> None:
    first = "for _ in range(3):\n    match = find(_)\n"
    second = "for i in range(3):\n    found = find(i)\n"
    assert python_tokens(first).tokens == python_tokens(second).tokens
