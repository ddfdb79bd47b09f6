"""Streaming a long paragraph or code block: previewed in held pieces, work per update bounded, output exact."""

from __future__ import annotations

import email
import html
import re
from importlib import metadata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.chat_render import StreamingMarkdown, StreamUpdate, render_markdown
from app.core.chat_render.streaming import HOLD_AFTER_LINES

TAGS = re.compile(r"<[^>]+>")


def lines(count: int, template: str = "Chat History: line {n} of the summary") -> str:
    return "".join(template.format(n=n) + "\n" for n in range(count))


# Long blocks and the constructs that change a block after many lines, where a preview cut at a line could go wrong.
LONG_REPLIES = [
    "Intro.\n\n" + lines(120) + "\nAfter the paragraph.\n",
    lines(60) + "===\n\nThe paragraph above became a heading.\n",
    lines(60) + "---\nA setext heading of level 2 above.\n",
    lines(50) + "Name | Value\n|---|---|\n| a | b |\n\nAfter the table.\n",
    lines(40) + "- a list item interrupts the paragraph\n- second\n\nText.\n",
    lines(40) + "2. cannot interrupt a paragraph\n" + lines(30) + "\n",
    lines(40) + "    indented, a lazy continuation line\n" + lines(30),
    lines(40) + "$$\nx + y\n$$\n" + lines(30) + "\nLast.",
    lines(30) + "# A heading ends it\n" + lines(40),
    lines(35) + "> a quote ends it\n" + lines(35),
    "```python\n" + lines(150, "value_{n} = compute({n})  # `x`") + "```\n\nAfter the code.\n",
    "  ```\n" + lines(60, "   indented by {n}") + "  ```\nno blank line after the fence\n",
    "~~~~ text\n" + lines(40, "```") + lines(40, "~~~ not long enough {n}") + "~~~~~\n\n" + lines(3),
    "```\n" + lines(70, "$$ {n} $$") + "```\n",
    "```js\n" + lines(80, "let x{n} = {n};") + "\n\n",  # never closed
    "Text $$\n" + lines(60) + "$$\n\nafter.\n",
    "- item\n" + lines(60, "  continued {n}") + "- next\n\n" + lines(30),
    lines(70, "*emphasis {n}") + "ends here*\n\n",
]


def stream(text: str, cuts: list[int], offset: int = 0) -> tuple[list[StreamUpdate], StreamUpdate]:
    markdown = StreamingMarkdown(offset, duty=1.0)
    updates, previous = [], 0
    for cut in [*sorted(cuts), len(text)]:
        updates.append(markdown.feed(text[previous:cut]))
        previous = cut
    return updates, markdown.finish()


def page_text(updates: list[StreamUpdate]) -> str:
    """What the page shows after ``updates``, as the chat page applies them, without the tags."""
    stable: list[str] = []
    held: list[str] = []
    tail = ""
    for update in updates:
        if update.held_cleared:
            held = []
        stable += update.new_blocks_html
        held += update.held_html
        if update.tail_html is not None:
            tail = update.tail_html
    return html.unescape(TAGS.sub("", "".join(stable + held) + tail))


def every(text: str, size: int) -> list[int]:
    return list(range(size, len(text), size))


@pytest.mark.parametrize("text", LONG_REPLIES)
@pytest.mark.parametrize("size", [1, 7, 40, 400])
def test_long_blocks_stream_to_the_exact_whole_render(text: str, size: int) -> None:
    updates, last = stream(text, every(text, size), offset=2)
    whole = render_markdown(text, 2)
    assert "".join(h for u in [*updates, last] for h in u.new_blocks_html) == whole.html
    assert [b for u in [*updates, last] for b in u.new_code_blocks] == whole.code_blocks
    assert page_text([*updates, last]) == html.unescape(TAGS.sub("", whole.html))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(LONG_REPLIES), st.lists(st.integers(0, 10_000), max_size=200))
def test_long_blocks_cut_anywhere_stream_to_the_exact_whole_render(text: str, cuts: list[int]) -> None:
    updates, last = stream(text, [c % (len(text) + 1) for c in cuts])
    assert "".join(h for u in [*updates, last] for h in u.new_blocks_html) == render_markdown(text).html


@pytest.mark.parametrize(
    "block", [lines(400), "```python\n" + lines(400, "value_{n} = compute({n}, 'some text')")], ids=["para", "fence"]
)
def test_work_per_update_stays_small_inside_a_long_block(block: str, parsed_lengths: list[int]) -> None:
    text = block + "```\n\nDone.\n" if block.startswith("```") else block + "\nDone.\n"
    updates, last = stream(text, every(text, 40))
    longest_line = max(len(line) for line in text.splitlines()) + 1
    bound = 2 * (HOLD_AFTER_LINES + 2) * longest_line
    # Before: each update parsed the whole block so far (up to ~15,000 characters here) twice. Now only the
    # update where the block ends parses it whole, once, to hand it out exactly (and finish() its last line).
    assert len([n for n in parsed_lengths[:-1] if n > bound]) == 1
    held = [h for u in updates for h in u.held_html]
    assert len(held) >= 400 // (HOLD_AFTER_LINES + 1)
    # While it streamed, the page showed everything so far; at the end, the exact whole render and no piece.
    upto_last_line = text.index("line 399" if "line 399" in text else "value_399") // 40 + 2
    assert "399" in page_text(updates[:upto_last_line])
    assert any(u.held_cleared for u in [*updates, last])
    assert page_text([*updates, last]) == html.unescape(TAGS.sub("", render_markdown(text).html))


def test_held_code_pieces_are_marked_to_be_joined_into_one_box() -> None:
    updates, _ = stream("```python\n" + lines(100, "x_{n} = {n}"), every("x" * 2000, 30))
    held = [h for u in updates for h in u.held_html]
    assert held[0].startswith('<div class="code-block pending split" ')
    assert all(h.startswith('<div class="code-block pending split cont" ') for h in held[1:])
    tails = [u.tail_html for u in updates if u.tail_html]
    assert any(t.startswith('<div class="code-block pending cont" ') for t in tails)
    assert 'class="code-toolbar"' in held[0]  # the CSS hides it in the pieces that go on from above


def markdown_descriptions() -> list[tuple[str, str]]:
    """Long descriptions (Markdown) of the installed packages: real documents nobody here wrote."""
    found = []
    for dist in metadata.distributions():
        message = email.message_from_string(dist.read_text("METADATA") or "")
        if "markdown" not in (message.get("Description-Content-Type") or "").lower():
            continue
        body = message.get_payload()
        if isinstance(body, str) and body.count("\n") > 60 and message.get("Name") != "quillpad":
            found.append((str(message.get("Name")), body))
    return sorted(found, key=lambda item: -len(item[1]))[:8]


@pytest.mark.parametrize("size", [53])
def test_real_readmes_stream_to_the_exact_whole_render(size: int) -> None:
    documents = markdown_descriptions()
    assert len(documents) >= 5, "the environment has too few Markdown package descriptions to test on"
    for name, text in documents:
        updates, last = stream(text, every(text, size))
        assert "".join(h for u in [*updates, last] for h in u.new_blocks_html) == render_markdown(text).html, name
