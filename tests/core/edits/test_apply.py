"""Applying one block: exact when the block is exact, tolerant of drift, and saying so."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.edits.apply import apply_block, join_lines, split_lines
from app.core.edits.parser import EditBlock, parse_edits

SOURCE = """import os


class Greeter:
    def greet(self, name):
        message = "Hi " + name
        return message

    def part(self):
        return 1
"""


def block(search: str, replace: str) -> EditBlock:
    return EditBlock(None, tuple(search.split("\n")), tuple(replace.split("\n")))


def test_exact_match() -> None:
    result = apply_block(SOURCE, block('        message = "Hi " + name', '        message = f"Hi {name}"'))
    assert result.kind == "exact" and result.note is None
    assert result.text == SOURCE.replace('"Hi " + name', 'f"Hi {name}"')


def test_indentation_drift_is_reindented_and_reported() -> None:
    search = 'def greet(self, name):\n    message = "Hi " + name\n    return message'
    replace = 'def greet(self, name):\n    return f"Hi {name}"'
    result = apply_block(SOURCE, block(search, replace))
    assert result.kind == "indentation" and result.fuzzy and "indentation" in (result.note or "")
    assert '    def greet(self, name):\n        return f"Hi {name}"\n\n    def part' in (result.text or "")


def test_trailing_spaces_and_blank_line_ends() -> None:
    result = apply_block(SOURCE, block("\n        return message   \n", "\n        return message.upper()\n"))
    assert result.kind == "trailing-space"
    assert "        return message.upper()\n\n    def part" in (result.text or "")


def test_blank_lines_inside_the_block_are_ignored() -> None:
    search = "        return message\n    def part(self):"
    result = apply_block(SOURCE, block(search, "        return message\n\n    def part(self, x):"))
    assert result.kind == "blank-lines"
    assert "    def part(self, x):" in (result.text or "")


def test_part_of_a_line() -> None:
    result = apply_block(SOURCE, block('"Hi "', '"Hello "'))
    assert result.kind == "part-of-line" and '"Hello " + name' in (result.text or "")


def test_several_matches_change_the_first_and_say_so() -> None:
    text = "x = 1\ny = 2\nx = 1\n"
    result = apply_block(text, block("x = 1", "x = 3"))
    assert result.text == "x = 3\ny = 2\nx = 1\n" and "2 places" in (result.note or "")


def test_no_match() -> None:
    result = apply_block(SOURCE, block("def missing():", "pass"))
    assert result.text is None and not result.applied and result.note


def test_new_and_whole_files() -> None:
    new = EditBlock("n.py", (), ("print(1)", "", ""), whole_file=True)
    assert apply_block(None, new).text == "print(1)\n" and apply_block(None, new).kind == "new-file"
    whole = apply_block(SOURCE, new)
    assert whole.kind == "whole-file" and whole.text == "print(1)\n" and whole.note
    empty_search = EditBlock(None, (), ("x",))
    assert apply_block(SOURCE, empty_search).text is None
    assert apply_block("", empty_search).text == "x\n"
    assert apply_block(None, block("a", "b")).text is None


def test_final_newline_is_kept_either_way() -> None:
    assert apply_block("a\nb", block("b", "c")).text == "a\nc"
    assert apply_block("a\nb\n", block("b", "c")).text == "a\nc\n"


def test_parsed_small_model_reply_applies() -> None:
    reply = """Sure! Here's the change:

**greeter.py**
```python
<<<<<<< SEARCH
def greet(self, name):
    message = "Hi " + name
=======
def greet(self, name):
    message = "Hello, " + name
>>>>>>> REPLACE
```"""
    (parsed,) = parse_edits(reply).blocks
    result = apply_block(SOURCE, parsed)
    assert result.kind == "indentation"
    expected = '    def greet(self, name):\n        message = "Hello, " + name\n        return message'
    assert expected in (result.text or "")


LINE = st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(LINE, min_size=1, max_size=15),
    st.data(),
    st.lists(LINE, max_size=5),
    st.booleans(),
)
def test_fuzz_valid_block_applies_exactly(
    lines: list[str], data: st.DataObject, replace: list[str], final: bool
) -> None:
    """A block whose SEARCH is lines of the file changes exactly those lines (the first such run)."""
    original = join_lines(lines, final)
    lines, final = split_lines(original)  # "a\n" is ["a"] ending in a newline, not ["a", ""]
    start = data.draw(st.integers(0, len(lines) - 1))
    end = data.draw(st.integers(start + 1, len(lines)))
    search = lines[start:end]
    first = next(i for i in range(len(lines)) if lines[i : i + len(search)] == search)
    expected = join_lines(lines[:first] + replace + lines[first + len(search) :], final)
    result = apply_block(original, EditBlock(None, tuple(search), tuple(replace)))
    assert result.kind == "exact" and result.text == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.lists(LINE, max_size=5), st.lists(LINE, max_size=5), st.booleans())
def test_fuzz_apply_never_raises(original: str, search: list[str], replace: list[str], whole: bool) -> None:
    result = apply_block(original, EditBlock(None, tuple(search), tuple(replace), whole_file=whole))
    assert result.text is None or isinstance(result.text, str)


@given(st.text())
def test_split_join_round_trip(text: str) -> None:
    assert join_lines(*split_lines(text)) == text
