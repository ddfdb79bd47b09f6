"""Markdown rendering for the chat view: safety, code blocks, math, streaming."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.chat_render import (
    CodeBlock,
    StreamingMarkdown,
    StreamUpdate,
    chat_css,
    file_suffix,
    latex_to_html,
    render_markdown,
    streaming,
)

HREF = re.compile(r'href="([^"]*)"')


def html_of(text: str) -> str:
    return render_markdown(text).html


# --- CommonMark, tables, strikethrough ----------------------------------------------------------------------------


def test_commonmark_tables_and_strikethrough() -> None:
    out = html_of("# Title\n\nSome *em* and **strong** and ~~gone~~.\n\n| a | b |\n|---|--:|\n| 1 | 2 |\n")
    assert "<h1>Title</h1>" in out
    assert "<em>em</em>" in out and "<strong>strong</strong>" in out
    assert "<s>gone</s>" in out
    assert "<table>" in out and "<th>a</th>" in out and '<td style="text-align:right">2</td>' in out


def test_empty_text_renders_nothing() -> None:
    assert render_markdown("") == render_markdown("   \n\n") == render_markdown("", 5)
    assert render_markdown("").html == ""


# --- untrusted text -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "inline <script>alert(1)</script> here",
        '<img src=x onerror="alert(1)">',
        "text <img src=x onerror=alert(1)> text",
        "<div onclick='alert(1)'>block html</div>",
        "<iframe src='https://example.com'></iframe>",
        "&lt;script&gt; &#60;script&#62;",
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text(text: str) -> None:
    out = html_of(text)
    assert not re.search(r"<(script|img|div|iframe|style)\b", out)
    assert "&lt;" in out


@pytest.mark.parametrize(
    "text",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click]( javascript:alert(1) )",
        "[click](java&#115;cript:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "[click](file:///etc/passwd)",
        "[click](relative/path.py)",
        "[click](#anchor)",
        "<javascript:alert(1)>",
        "![pic](javascript:alert(1))",
    ],
)
def test_only_web_and_mail_links_get_an_href(text: str) -> None:
    out = html_of(text)
    assert HREF.findall(out) == []


def test_allowed_links_render() -> None:
    out = html_of('[a](https://example.com/x?y=1&z=2 "t") [b](http://e.org) [c](mailto:me@e.org) <https://auto.org>')
    assert HREF.findall(out) == [
        "https://example.com/x?y=1&amp;z=2",
        "http://e.org",
        "mailto:me@e.org",
        "https://auto.org",
    ]
    assert 'title="t"' in out


def test_images_are_never_loaded_but_linked() -> None:
    out = html_of('![a cat](https://example.com/cat.png "Cat") and ![](http://x.org/y.png)')
    assert "<img" not in out
    assert '<a class="image-link" href="https://example.com/cat.png" title="Cat">a cat</a>' in out
    assert '<a class="image-link" href="http://x.org/y.png">image</a>' in out


def test_link_text_cannot_smuggle_attributes() -> None:
    out = html_of('[x](https://e.org/"onmouseover="alert(1))')
    assert 'onmouseover="' not in out


# --- code blocks --------------------------------------------------------------------------------------------------


def test_fenced_code_is_highlighted_with_toolbar_and_raw_code() -> None:
    text = "Intro\n\n```python\ndef f(x):\n    return x < 1 and '<b>'\n```\n"
    result = render_markdown(text, code_block_offset=7)
    assert result.code_blocks == [CodeBlock(7, "python", "def f(x):\n    return x < 1 and '<b>'\n")]
    out = result.html
    assert '<div class="code-block" data-index="7" data-language="python">' in out
    assert '<a class="code-action" href="quillpad://code/copy/7">Copy</a>' in out
    assert '<a class="code-action" href="quillpad://code/insert/7">Insert at cursor</a>' in out
    assert '<a class="code-action" href="quillpad://code/newfile/7">Open as new file</a>' in out
    # The Run button's tooltip says what the sandbox isolates on this platform.
    assert '<a class="code-action" href="quillpad://code/run/7" title="Runs the code isolated (Linux namespaces)' in out
    assert '<span class="k">def</span>' in out  # Pygments token class, coloured by chat_css
    assert "<b>" not in out and "&lt;b&gt;" in out


def test_code_blocks_are_numbered_in_order_from_the_offset() -> None:
    text = "```js\nlet a = 1;\n```\n\ntext\n\n    indented code\n\n~~~\nplain\n~~~\n"
    result = render_markdown(text, code_block_offset=2)
    assert [(b.index, b.language, b.code) for b in result.code_blocks] == [
        (2, "javascript", "let a = 1;\n"),
        (3, "", "indented code\n"),
        (4, "", "plain\n"),
    ]
    for index in (2, 3, 4):
        assert f'data-index="{index}"' in result.html
        assert f"quillpad://code/newfile/{index}" in result.html


def test_language_is_normalised_guessed_or_kept() -> None:
    blocks = render_markdown(
        "```py\nx = 1\n```\n\n```\n#!/bin/bash\necho hi\n```\n\n```mermaid\ngraph TD\n```\n\n```\nhello\n```\n"
    ).code_blocks
    assert [b.language for b in blocks] == ["python", "bash", "mermaid", ""]


def test_hostile_fence_info_is_escaped() -> None:
    out = html_of('```"><script>alert(1)</script>\ncode\n```\n')
    assert "<script" not in out
    assert 'data-language="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in out


def test_file_suffix() -> None:
    assert file_suffix("python") == ".py"
    assert file_suffix("rust") == ".rs"
    assert file_suffix("") == ".txt"
    assert file_suffix("no-such-language") == ".txt"


# --- math ---------------------------------------------------------------------------------------------------------


def test_inline_and_display_math_become_mathml() -> None:
    out = html_of("Inline $x^2$ and \\(a+b\\).\n\n$$\n\\frac{1}{2}\n$$\n\n\\[\n\\sqrt{y}\n\\]\n")
    assert out.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">') == 2
    assert (
        out.count('<div class="math math-display"><math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
        == 2
    )
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in out
    assert "<mfrac>" in out and "<msqrt>" in out


def test_display_math_inside_a_paragraph_stays_in_the_paragraph() -> None:
    out = html_of("We get $$x=1$$ and \\[y=2\\] here.\nAlso:\n$$\nz\n$$")
    assert out.startswith("<p>") and out.count("<p>") == 1
    assert out.count('<span class="math math-display"><math') == 3
    assert out.count('display="block"') == 3


def test_aligned_environments_render_as_tables() -> None:
    out = html_of(
        "$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$\n\n\\begin{align*}\nx &= 1\n\\end{align*}\n"
    )
    assert out.count("<mtable") == 2
    assert "&amp;" not in out  # the alignment marks are not shown as text


@pytest.mark.parametrize(
    "text",
    [
        "It costs $5 and $10.",
        "Between $5 and $6, or $ 7 $.",
        "Escaped \\$x\\$ stays text.",
        "`$x$` in a code span",
        "```\n$$x$$ and \\(y\\)\n```",
        "    $x$ in indented code",
    ],
)
def test_not_math(text: str) -> None:
    assert "<math" not in html_of(text)


def test_dollars_stay_visible_as_text() -> None:
    out = html_of("It costs $5 and $10. Escaped \\$x\\$.")
    assert "It costs $5 and $10. Escaped $x$." in out


@pytest.mark.parametrize(
    "latex",
    [
        "x^",
        "a_",
        "\\frac{",
        "\\frac",
        "\\left( x",
        "\\right)",
        "\\begin{matrix",
        "\\sqrt[",
        "{",
        "\\newcommand{\\a}{\\a}\\a",
    ],
)
def test_broken_latex_is_shown_as_escaped_source(latex: str) -> None:
    for text, display in ((f"${latex}$", False), (f"$$\n{latex}\n$$", True), (f"\\({latex}\\)", False)):
        out = html_of(text)
        match = re.search(r'<code class="math-error" title="([^"]+)">([^<]*)</code>', out)
        assert match, out
        assert match.group(1).startswith("Could not display this formula: ")
        assert html.unescape(match.group(2)) == latex
        assert out.startswith('<div class="math math-display">') == display


def test_math_output_is_sanitised() -> None:
    out = html_of(
        "$\\text{<script>alert(1)</script>}$ $\\href{javascript:alert(1)}{x}$ "
        "$\\style{background:url(https://e.org/t.png)}{y}$ $\\class{evil}{z}$"
    )
    assert "<script" not in out and "&lt;script&gt;" in out
    assert "href" not in out and "style=" not in out and 'class="evil"' not in out
    assert "<mo>&lt;</mo>" in html_of("$a < b$")


def test_latex_to_html_directly() -> None:
    assert latex_to_html("x", True).startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">')
    assert latex_to_html("x", False).startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert latex_to_html("  ", False).startswith('<code class="math-error"')


# --- style sheet --------------------------------------------------------------------------------------------------


def test_chat_css_light_and_dark() -> None:
    light, dark = chat_css(False), chat_css(True)
    assert light != dark
    for css in (light, dark):
        for selector in (
            ".code-block",
            ".code-toolbar",
            ".code-action",
            ".highlight .k",
            ".math-display",
            ".math-error",
        ):
            assert selector in css
        assert ".thinking" in css and "summary" in css
        assert "url(" not in css and "@import" not in css  # nothing fetched
    assert "color-scheme: dark" in dark and "color-scheme: light" in light


# --- streaming ----------------------------------------------------------------------------------------------------

REPLIES = [
    "Sure! Here is a short answer with *emphasis*, `code` and a [link](https://example.com).\n\n"
    "A second paragraph\nthat spans lines.\n\n## Steps\n\n1. First step\n2. Second step with $x_1$\n"
    "   continued here\n3. Third\n\nDone.",
    "- apples\n- pears\n\n  still pears\n- plums\n\n* other list\n  - nested\n    - deeper\n\nText after.\n",
    "Here is the code:\n\n```python\ndef fib(n):\n    if n < 2:\n        return n\n\n"
    "    return fib(n - 1) + fib(n - 2)\n"
    "```\n\nAnd without a language:\n\n```\nSELECT * FROM t;\n```\n\n    indented code\n\n    more\n\nEnd.\n",
    "| Name | Value |\n|:-----|------:|\n| a | $1$ |\n| b | ~~2~~ |\n\nText below the table.\n",
    "The quadratic formula:\n\n$$\nx = \\frac{-b \\pm \\sqrt{b^2-4ac}}{2a}\n$$\n\nwhere \\(a \\neq 0\\). Also\n"
    "\\[\n\\begin{aligned}\na &= b \\\\\n+ c &= d\n\\end{aligned}\n\\]\n\nIt costs $5 and $10.\n\n"
    "\\begin{align}\nf(x) &= x^2\n- 1\n\\end{align}\n\nFinally $$e^{i\\pi}+1=0$$ inline.",
    "> A quote\nwith a lazy line\n\n> - list in quote\n\n---\n\nSetext\n======\n\nTail text",
    "Windows line ends\r\nare here\r\n\r\n```c\r\nint x;\r\n```\r\n",
    'Unfinished at the end:\n\n```rust\nfn main() {\n    println!("hi");\n',
    "Math opened inside a list:\n\n- step $$\n  x\n  + y\n  $$\n- next\n\nLast.",
]


def stream_pieces(text: str, cuts: list[int], offset: int = 0) -> tuple[list[StreamUpdate], StreamUpdate]:
    stream = StreamingMarkdown(offset, duty=1.0)
    updates = []
    previous = 0
    for cut in [*sorted(cuts), len(text)]:
        updates.append(stream.feed(text[previous:cut]))
        previous = cut
    return updates, stream.finish()


@st.composite
def reply_and_cuts(draw: st.DrawFn) -> tuple[str, list[int], int]:
    text = draw(st.sampled_from(REPLIES))
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=60))
    return text, cuts, draw(st.integers(0, 20))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply_and_cuts())
def test_streamed_blocks_equal_the_whole_render(case: tuple[str, list[int], int]) -> None:
    text, cuts, offset = case
    updates, last = stream_pieces(text, cuts, offset)
    whole = render_markdown(text, offset)
    assert last.tail_html == ""
    assert "".join(html for u in [*updates, last] for html in u.new_blocks_html) == whole.html
    assert [b for u in [*updates, last] for b in u.new_code_blocks] == whole.code_blocks


@pytest.mark.parametrize("text", REPLIES)
def test_streaming_character_by_character(text: str) -> None:
    updates, last = stream_pieces(text, list(range(len(text))))
    assert "".join(html for u in [*updates, last] for html in u.new_blocks_html) == render_markdown(text).html
    # Something final is handed out before the end whenever the reply has several settled blocks.
    assert any(u.new_blocks_html for u in updates) or text.count("\n\n") <= 1


def test_open_code_fence_stays_in_the_tail() -> None:
    stream = StreamingMarkdown(3, duty=1.0)
    first = stream.feed("Intro.\n\n```python\nx = 1\n")
    assert first.new_blocks_html == ["<p>Intro.</p>\n"]
    update = stream.feed("\ny = 2\n\nz = 3\n")
    assert update.new_blocks_html == [] and update.new_code_blocks == []
    assert 'class="code-block pending" data-index="3"' in update.tail_html
    assert "code-action" not in update.tail_html  # no actions until the app has the code
    assert "z" in update.tail_html
    closed = stream.feed("```\n\nAfter.")
    assert len(closed.new_blocks_html) == 1 and 'class="code-block" data-index="3"' in closed.new_blocks_html[0]
    assert closed.new_code_blocks == [CodeBlock(3, "python", "x = 1\n\ny = 2\n\nz = 3\n")]
    assert closed.tail_html == "<p>After.</p>\n"
    end = stream.finish()
    assert end == StreamUpdate(["<p>After.</p>\n"], "", [])


@pytest.mark.parametrize(
    ("opening", "body", "closing"),
    [("$$", "a\n+ b\n# c", "$$"), ("\\[", "a\n- b\n> c", "\\]"), ("\\begin{align}", "a &= b\n+ c", "\\end{align}")],
)
def test_open_display_math_stays_in_the_tail(opening: str, body: str, closing: str) -> None:
    stream = StreamingMarkdown(duty=1.0)
    assert stream.feed("Before.\n\n").new_blocks_html == ["<p>Before.</p>\n"]
    update = stream.feed(f"{opening}\n{body}\n")
    assert update.new_blocks_html == []
    update = stream.feed("more\n")
    assert update.new_blocks_html == []  # without the closing line yet, these lines may all become one formula
    update = stream.feed(f"{closing}\n\nAfter.\n")
    assert len(update.new_blocks_html) == 1
    assert update.new_blocks_html[0].startswith('<div class="math math-display"><math')
    assert update.tail_html == "<p>After.</p>\n"


def test_unclosed_display_math_settles_at_a_blank_line() -> None:
    stream = StreamingMarkdown(duty=1.0)
    stream.feed("$$\nx\n+ y\n")
    update = stream.feed("\nNext.\n")
    assert update.new_blocks_html == ["<p>$$\nx</p>\n", "<ul>\n<li>y</li>\n</ul>\n"]


def test_list_items_stay_in_the_tail_until_the_list_ends() -> None:
    stream = StreamingMarkdown(duty=1.0)
    assert stream.feed("- one\n- two\n").new_blocks_html == []
    update = stream.feed("\n- three\n")
    assert update.new_blocks_html == [] and "three" in update.tail_html
    update = stream.feed("\nAfter the list.\n")
    assert update.new_blocks_html == [html_of("- one\n- two\n\n- three\n")]


def test_a_block_boundary_split_across_pieces() -> None:
    stream = StreamingMarkdown(duty=1.0)
    assert stream.feed("First paragraph.").new_blocks_html == []
    update = stream.feed("\n")
    assert update.new_blocks_html == [] and update.tail_html == "<p>First paragraph.</p>\n"
    update = stream.feed("#")  # an empty heading so far, ending the paragraph; or "#tag", continuing it
    assert update.new_blocks_html == [] and update.tail_html == "<p>First paragraph.</p>\n<h1></h1>\n"
    update = stream.feed(" Heading\nText")
    assert update.new_blocks_html == ["<p>First paragraph.</p>\n", "<h1>Heading</h1>\n"]
    assert update.tail_html == "<p>Text</p>\n"


def test_a_finished_block_is_handed_out_at_the_blank_line() -> None:
    stream = StreamingMarkdown(duty=1.0)
    update = stream.feed("```py\nx = 1\n```\n\nA long line still being writ")
    assert update.new_code_blocks == [CodeBlock(0, "python", "x = 1\n")]
    assert update.tail_html == "<p>A long line still being writ</p>\n"  # the code is not re-rendered
    update = stream.feed("ten.\n\n- item\n\n")
    assert update.new_blocks_html == ["<p>A long line still being written.</p>\n"]
    assert update.tail_html == "<ul>\n<li>item</li>\n</ul>\n"  # a list may go on after a blank line


def test_incomplete_last_line_never_settles_earlier_blocks() -> None:
    # "#" alone would be an empty heading ending the paragraph; "#hashtag" continues it.
    stream = StreamingMarkdown(duty=1.0)
    assert stream.feed("para\n#").new_blocks_html == []
    stream.feed("hashtag\n")
    assert stream.finish().new_blocks_html == ["<p>para\n#hashtag</p>\n"]


def test_crlf_split_across_pieces_is_one_line_break() -> None:
    text = "a\r\n\r\nb\r\n"
    assert stream_pieces(text, [1, 2, 3, 4])[1].tail_html == ""
    updates, last = stream_pieces(text, [1, 2, 3, 4])
    assert "".join(h for u in [*updates, last] for h in u.new_blocks_html) == "<p>a</p>\n<p>b</p>\n"


def test_feed_after_finish_is_an_error_and_finish_is_idempotent() -> None:
    stream = StreamingMarkdown(duty=1.0)
    stream.feed("x")
    assert stream.finish().new_blocks_html == ["<p>x</p>\n"]
    assert stream.finish() == StreamUpdate([], "", [])
    with pytest.raises(RuntimeError):
        stream.feed("y")


def test_work_per_piece_does_not_grow_with_the_reply(parsed_lengths: list[int]) -> None:
    stream = StreamingMarkdown(duty=1.0)
    paragraph = "Some words in a paragraph with $x$ and `code`, " * 3 + "\n\n"
    fence = "```python\nprint('hello')\n```\n\n"
    total = 0
    for round_ in range(300):
        for piece in (paragraph if round_ % 3 else fence).split(" "):
            stream.feed(piece + " ")
            total += len(piece) + 1
    stream.finish()
    assert total > 30_000
    # Each parse sees at most the unfinished block plus the newest piece, never the reply so far.
    assert max(parsed_lengths) < 2 * len(paragraph)


# --- rendering put off while a long block streams ---------------------------------------------------------------


class FakeClock:
    """Time that moves only when the test says (or a render "costs" it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def slow_renders(clock: FakeClock, cost: float) -> Iterator[list[int]]:
    """Make every render of streamed Markdown take ``cost`` seconds of ``clock``; yields the render count."""
    count = [0]
    original = streaming.render_tokens

    def render(*args: Any, **kwargs: Any) -> Any:
        count[0] += 1
        clock.now += cost
        return original(*args, **kwargs)

    with mock.patch.object(streaming, "render_tokens", render):
        yield count


def test_duty_1_renders_every_piece_and_the_default_puts_off_renders_of_an_expensive_tail() -> None:
    clock = FakeClock()
    stream = StreamingMarkdown(clock=clock)
    with slow_renders(clock, cost=0.020) as renders:  # a long code block: 20 ms per render
        check_put_off_renders(stream, clock, renders)


def check_put_off_renders(stream: StreamingMarkdown, clock: FakeClock, renders: list[int]) -> None:
    stream.feed("```python\n")
    assert renders[0] == 1
    shown = held = 0
    for line in range(59):  # one line every 33 ms
        clock.now += 1 / 30
        update = stream.feed(f"x_{line} = {line}\n")
        if update.tail_html is not None:
            shown += 1
            held += len(update.held_html)
            assert f"x_{line}" in "".join(update.held_html) + update.tail_html  # a render shows everything so far
    # 20 ms renders at most 10 % of the time: one every 200 ms, about every sixth piece.
    assert 7 <= shown <= 12
    # Renders happen only for updates shown; one that holds a piece renders it apart from the tail after it.
    assert shown + 1 <= renders[0] <= shown + held + 1
    assert stream.feed("x_59 = 59\n").tail_html is None  # no time has passed since the last piece
    waiting = stream.due_in()
    assert waiting is not None and 0 < waiting <= 0.2
    assert stream.flush() == StreamUpdate([], None, [])  # too early: nothing rendered
    clock.now += waiting
    assert stream.due_in() == 0.0
    flushed = stream.flush()
    assert flushed.tail_html is not None and "x_59" in flushed.tail_html
    assert stream.due_in() is None  # nothing waits any more
    end = stream.finish()
    assert "x_59" in "".join(end.new_blocks_html) and end.tail_html == ""
    assert stream.due_in() is None


def test_a_cheap_tail_is_rendered_at_every_piece() -> None:
    clock = FakeClock()
    stream = StreamingMarkdown(clock=clock)
    with slow_renders(clock, cost=0.001):
        for word in range(50):
            clock.now += 1 / 30
            assert stream.feed(f"word{word} ").tail_html is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reply_and_cuts(), st.lists(st.floats(0.0, 0.3), min_size=1, max_size=60), st.floats(0.0, 0.05))
def test_put_off_renders_hand_out_the_same_blocks(
    case: tuple[str, list[int], int], steps: list[float], cost: float
) -> None:
    text, cuts, offset = case
    clock = FakeClock()
    stream = StreamingMarkdown(offset, clock=clock)
    updates = []
    previous = 0
    with slow_renders(clock, cost):
        for index, cut in enumerate([*sorted(cuts), len(text)]):
            clock.now += steps[index % len(steps)]
            updates.append(stream.feed(text[previous:cut]))
            previous = cut
            if stream.due_in() == 0.0:
                updates.append(stream.flush())
        last = stream.finish()
    whole = render_markdown(text, offset)
    assert last.tail_html == ""
    assert "".join(html for u in [*updates, last] for html in u.new_blocks_html) == whole.html
    assert [b for u in [*updates, last] for b in u.new_code_blocks] == whole.code_blocks
