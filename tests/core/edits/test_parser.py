"""The edit parser: real-looking small-model output, and fuzzing (it never raises)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.edits.parser import (
    DIVIDER_RE,
    FENCE_RE,
    REPLACE_RE,
    SEARCH_RE,
    EditBlock,
    looks_like_path,
    parse_edits,
    path_from_line,
)

CLEAN = """I'll rename the function.

app/greet.py
```python
<<<<<<< SEARCH
def greet(name):
    return "Hi " + name
=======
def welcome(name):
    return f"Hi {name}"
>>>>>>> REPLACE
```
"""


def only(text: str) -> EditBlock:
    result = parse_edits(text)
    assert len(result.blocks) == 1, result
    return result.blocks[0]


def test_clean_block() -> None:
    block = only(CLEAN)
    assert block.path == "app/greet.py"
    assert block.search == ("def greet(name):", '    return "Hi " + name')
    assert block.replace == ("def welcome(name):", '    return f"Hi {name}"')
    assert block.complete and not block.whole_file


def test_missing_fences() -> None:
    text = CLEAN.replace("```python\n", "").replace("```\n", "")
    block = only(text)
    assert block.path == "app/greet.py" and block.search[0] == "def greet(name):"


def test_extra_fences_inside_the_sections() -> None:
    text = """app/greet.py
<<<<<<< SEARCH
```python
def greet(name):
```
=======
```python
def welcome(name):
```
>>>>>>> REPLACE
"""
    block = only(text)
    assert block.search == ("def greet(name):",) and block.replace == ("def welcome(name):",)


def test_doubled_outer_fences_and_odd_marker_lengths() -> None:
    text = """```
```python
app/x.py
<<<<< SEARCH
a = 1
=========
a = 2
>>>>>>>>> REPLACE
```
```"""
    block = only(text)
    assert block.path == "app/x.py" and block.search == ("a = 1",) and block.replace == ("a = 2",)


def test_missing_replace_marker_ends_at_the_fence() -> None:
    text = "x.py\n```python\n<<<<<<< SEARCH\na = 1\n=======\na = 2\n```\n\nThat's all."
    result = parse_edits(text)
    (block,) = result.blocks
    assert block.replace == ("a = 2",) and not block.complete
    assert any("REPLACE" in note for note in result.notes)


def test_block_without_path_is_for_the_current_file() -> None:
    text = "```python\n<<<<<<< SEARCH\nold()\n=======\nnew()\n>>>>>>> REPLACE\n```"
    assert only(text).path is None


def test_later_block_without_path_keeps_the_previous_path() -> None:
    text = CLEAN + "\nAnd the caller:\n<<<<<<< SEARCH\ngreet(x)\n=======\nwelcome(x)\n>>>>>>> REPLACE\n"
    first, second = parse_edits(text).blocks
    assert first.path == second.path == "app/greet.py"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("app/main.py", "app/main.py"),
        ("**app/main.py**", "app/main.py"),
        ("`app/main.py`:", "app/main.py"),
        ("### app/main.py", "app/main.py"),
        ("File: app/main.py", "app/main.py"),
        ("# filename: src/lib.rs", "src/lib.rs"),
        ("/home/me/project/app/main.py", "/home/me/project/app/main.py"),
        ("C:\\proj\\main.py", "C:\\proj\\main.py"),
        ("In `app/main.py`, change the greeting:", "app/main.py"),
        ("Makefile", "Makefile"),
        ("Here is the change:", None),
        ("python", None),
        ("1.5", None),
    ],
)
def test_path_lines(line: str, expected: str | None) -> None:
    assert path_from_line(line)[0] == expected


def test_path_in_the_fence_info_string() -> None:
    for info in ("python app/x.py", "python:app/x.py", "app/x.py", "py title=app/x.py"):
        text = f"```{info}\n<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE\n```"
        assert only(text).path == "app/x.py", info


def test_whole_file_block_for_a_new_file() -> None:
    text = (
        "Create the test:\n\ntests/test_greet.py\n```python\n"
        "from app.greet import welcome\n\n\ndef test():\n    assert welcome('a')\n```\n"
    )
    block = only(text)
    assert block.whole_file and block.path == "tests/test_greet.py" and block.search == ()
    assert block.replace[0] == "from app.greet import welcome" and block.replace[-1] == "    assert welcome('a')"


def test_whole_file_path_from_a_comment_on_the_first_line() -> None:
    block = only("```javascript\n// File: src/app.js\nexport const x = 1;\n```")
    assert block.whole_file and block.path == "src/app.js"


def test_code_that_is_not_an_edit() -> None:
    text = "Run it with:\n\n```bash\npython -m app.main\n```\n\nOr in code:\n```python\nmain()\n```"
    result = parse_edits(text)
    assert not result.blocks
    assert [fence.language for fence in result.code] == ["bash", "python"]


def test_prose_path_needs_a_matching_language() -> None:
    result = parse_edits("You can call it from `app/main.py` like this:\n```bash\npython app/main.py\n```")
    assert not result.blocks and len(result.code) == 1
    result = parse_edits("Put this in `app/util.py`:\n```python\ndef f():\n    pass\n```")
    assert result.blocks[0].path == "app/util.py"


def test_thinking_never_reaches_the_edits() -> None:
    text = "<think>\nMaybe app/evil.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n</think>\n\n" + CLEAN
    result = parse_edits(text)
    assert [block.path for block in result.blocks] == ["app/greet.py"]
    assert parse_edits("<think>\n```python\nprint('thinking')\n").blocks == ()


def test_think_tags_inside_code_are_code() -> None:
    text = (
        'x.py\n<<<<<<< SEARCH\nopen_tag = "<think>"\n=======\nopen_tag, close = "<think>", "</think>"\n>>>>>>> REPLACE'
    )
    block = only(text)
    assert block.replace == ('open_tag, close = "<think>", "</think>"',)


def test_block_without_divider_is_left_out_with_a_note() -> None:
    result = parse_edits("x.py\n<<<<<<< SEARCH\na\n>>>>>>> REPLACE\n" + CLEAN)
    assert [block.path for block in result.blocks] == ["app/greet.py"]
    assert any("=======" in note for note in result.notes)


def test_crlf_and_unclosed_whole_file_fence() -> None:
    result = parse_edits("new.py\r\n```python\r\nprint(1)\r\n")
    (block,) = result.blocks
    assert block.replace == ("print(1)", "") and not block.complete and result.notes


def test_realistic_qwen_style_reply() -> None:
    reply = """Here are the changes you asked for:

1. `src/utils.py`
```diff
<<<<<<< SEARCH
def add(a, b):
    return a+b
=======
def add(a: int, b: int) -> int:
    return a + b
>>>>>>> REPLACE
```

### Path: src/main.py

```python
<<<<<<< SEARCH
print(add(1,2))
=======
print(add(1, 2))
>>>>>>> REPLACE
```

These changes add type hints and fix the spacing."""
    first, second = parse_edits(reply).blocks
    assert first.path == "src/utils.py" and first.replace[0] == "def add(a: int, b: int) -> int:"
    assert second.path == "src/main.py" and second.search == ("print(add(1,2))",)


def test_realistic_reply_that_forgets_everything() -> None:
    reply = "app.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n\n<<<<<<< SEARCH\ny = 1\n=======\ny = 2"
    first, second = parse_edits(reply).blocks
    assert (first.path, first.replace, first.complete) == ("app.py", ("x = 2", ""), False)
    assert (second.path, second.replace, second.complete) == ("app.py", ("y = 2",), False)


def test_looks_like_path() -> None:
    assert looks_like_path("a/b.py") and looks_like_path("Dockerfile") and looks_like_path(".github/x.yml")
    assert not looks_like_path("") and not looks_like_path("a b.py") and not looks_like_path("..")


MARKERS = st.sampled_from(
    [
        "<<<<<<< SEARCH",
        "=======",
        ">>>>>>> REPLACE",
        "```",
        "```python",
        "~~~",
        "app/x.py",
        "**x.py**",
        "<think>",
        "</think>",
        "# File: y.py",
        "",
        "  ",
        "\r",
    ]
)
LINES = st.lists(st.one_of(MARKERS, st.text(max_size=30)), max_size=40)


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_fuzz_line_soup_never_raises(lines: list[str]) -> None:
    result = parse_edits("\n".join(lines))
    for block in result.blocks:
        assert block.line >= 1
        assert all("\n" not in line for line in block.search + block.replace)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_arbitrary_text_never_raises(text: str) -> None:
    parse_edits(text)


PLAIN_LINE = st.text(alphabet=st.characters(blacklist_characters="\r\n"), max_size=20).filter(
    lambda line: not any(pattern.match(line) for pattern in (SEARCH_RE, DIVIDER_RE, REPLACE_RE, FENCE_RE))
)


@settings(max_examples=200, deadline=None)
@given(st.lists(PLAIN_LINE, min_size=1, max_size=6), st.lists(PLAIN_LINE, max_size=6))
def test_fuzz_well_formed_blocks_round_trip(search: list[str], replace: list[str]) -> None:
    """Any search/replace content without marker or fence lines comes back exactly."""
    text = "\n".join(["app/x.py", "<<<<<<< SEARCH", *search, "=======", *replace, ">>>>>>> REPLACE"])
    block = only(text)
    assert block.search == tuple(search) and block.replace == tuple(replace) and block.path == "app/x.py"
