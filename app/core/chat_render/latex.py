"""LaTeX to MathML for the chat view, and the Markdown rules that find the LaTeX.

latex2mathml does the conversion. Its own string output is not used: it
un-escapes everything after serialising, so ``\\text{<b>}`` would come out as
markup, and it passes ``\\href`` and ``\\style`` through as attributes. The
element tree is serialised here instead, keeping only MathML elements and
presentation attributes and escaping all text.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from xml.etree.ElementTree import Element

from latex2mathml.converter import convert_to_element
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.amsmath import RE_OPEN, amsmath_block
from mdit_py_plugins.dollarmath import dollarmath_plugin

_MATHML_ELEMENTS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "mover",
        "munder",
        "munderover",
        "mtable",
        "mtr",
        "mtd",
        "mlabeledtr",
        "mstyle",
        "menclose",
        "mpadded",
        "mphantom",
        "merror",
        "mmultiscripts",
        "mprescripts",
        "none",
        "semantics",
        "annotation",
    }
)
_MATHML_ATTRIBUTES = frozenset(
    {
        "xmlns",
        "display",
        "mathvariant",
        "mathcolor",
        "mathbackground",
        "mathsize",
        "displaystyle",
        "scriptlevel",
        "fence",
        "separator",
        "stretchy",
        "symmetric",
        "largeop",
        "movablelimits",
        "accent",
        "accentunder",
        "form",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "linethickness",
        "notation",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "framespacing",
        "width",
        "height",
        "depth",
        "voffset",
        "linebreak",
        "rowspan",
        "columnspan",
        "equalrows",
        "equalcolumns",
        "align",
        "bevelled",
        "numalign",
        "denomalign",
    }
)
_CHAR_REFERENCE = re.compile(r"&#(x[0-9a-fA-F]+|[0-9]+);")
# latex2mathml does not know these environments but does know one that looks the same.
_ENVIRONMENT_ALIASES = {"aligned": "split"}
_ENVIRONMENT = re.compile(r"\\(begin|end)\{(" + "|".join(_ENVIRONMENT_ALIASES) + r")\}")


class _UnsafeMathError(Exception):
    """latex2mathml produced an element that is not MathML."""


def _decode_references(text: str) -> str:
    # latex2mathml writes symbols as character references inside element text.
    def decode(match: re.Match[str]) -> str:
        ref = match.group(1)
        try:
            char = chr(int(ref[1:], 16) if ref[0] == "x" else int(ref))
        except (ValueError, OverflowError):
            return "\ufffd"
        return "\ufffd" if char == "\0" else char

    return _CHAR_REFERENCE.sub(decode, text)


def _serialise(element: Element, out: list[str]) -> None:
    tag = element.tag
    if tag not in _MATHML_ELEMENTS:
        raise _UnsafeMathError(f"unexpected element {tag}")
    attributes = "".join(
        f' {name}="{html.escape(value)}"' for name, value in element.attrib.items() if name in _MATHML_ATTRIBUTES
    )
    out.append(f"<{tag}{attributes}>")
    if element.text:
        out.append(html.escape(_decode_references(element.text)))
    for child in element:
        _serialise(child, out)
        if child.tail:
            out.append(html.escape(_decode_references(child.tail)))
    out.append(f"</{tag}>")


def _describe(err: Exception) -> str:
    # latex2mathml's exceptions mostly carry no message, only a telling class name.
    message = str(err).strip()
    if message:
        return message
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(err).__name__.removesuffix("Error")).lower()
    return words or "not valid LaTeX"


@functools.lru_cache(maxsize=1024)
def latex_to_html(latex: str, display: bool) -> str:
    """MathML for one formula, or its escaped source in ``<code class="math-error">``.

    Never raises: LaTeX that cannot be converted is shown as written, with the
    reason in the ``title``. Cached, because a streaming reply re-renders the
    formulas of its last paragraph on every piece of text.
    """
    source = latex.strip()
    try:
        if not source:
            raise ValueError("empty formula")
        element = convert_to_element(
            _ENVIRONMENT.sub(lambda m: f"\\{m.group(1)}{{{_ENVIRONMENT_ALIASES[m.group(2)]}}}", source),
            display="block" if display else "inline",
        )
        out: list[str] = []
        _serialise(element, out)
        return "".join(out)
    except Exception as err:  # latex2mathml raises many kinds, RecursionError included
        title = html.escape(f"Could not display this formula: {_describe(err)}")
        return f'<code class="math-error" title="{title}">{html.escape(source)}</code>'


def render_math_inline(content: str) -> str:
    """HTML for inline math (``$…$``, ``\\(…\\)``)."""
    return f'<span class="math">{latex_to_html(content, False)}</span>'


def render_math_display_inline(content: str) -> str:
    """HTML for display math written inside a paragraph (``$$…$$``, ``\\[…\\]`` mid-text).

    A ``span`` and not a ``div``, which would end the enclosing ``<p>``.
    """
    return f'<span class="math math-display">{latex_to_html(content, True)}</span>'


def render_math_block(content: str) -> str:
    """HTML for display math standing as a block of its own."""
    return f'<div class="math math-display">{latex_to_html(content, True)}</div>\n'


# --- Markdown rules -----------------------------------------------------------------------------------------------
# dollarmath (mdit-py-plugins) handles the dollar forms. texmath's bracket rules are not used: its block
# rule lets ``\[`` reach past blank lines to a ``\]`` anywhere later in the document (so text already shown
# could turn into math when the reply goes on), and it has no inline ``\[…\]``. These rules follow dollarmath.


def _escaped(src: str, pos: int) -> bool:
    backslashes = 0
    while pos > 0 and src[pos - 1] == "\\":
        backslashes += 1
        pos -= 1
    return backslashes % 2 == 1


def bracket_math_inline(state: StateInline, silent: bool) -> bool:
    """``\\(…\\)`` as inline math and ``\\[…\\]`` inside a paragraph as display math."""
    src, pos = state.src, state.pos
    if src[pos] != "\\" or pos + 1 >= state.posMax or src[pos + 1] not in "([":
        return False
    display = src[pos + 1] == "["
    closing = "\\]" if display else "\\)"
    end = src.find(closing, pos + 2, state.posMax)
    while end >= 0 and _escaped(src, end):
        end = src.find(closing, end + 1, state.posMax)
    if end < 0 or not src[pos + 2 : end].strip():
        return False
    if not silent:
        token = state.push("math_inline_double" if display else "math_inline", "math", 0)
        token.content = src[pos + 2 : end]
        token.markup = src[pos : pos + 2]
    state.pos = end + 2
    return True


def bracket_math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """``\\[`` at the start of a line up to a line ending in ``\\]``; no blank lines in between."""
    if state.is_code_block(start_line):
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    first = state.src[begin : state.eMarks[start_line]].rstrip()
    if not first.startswith("\\["):
        return False
    rest = first[2:]
    line = start_line
    if rest.endswith("\\]") and not _escaped(rest, len(rest) - 2) and len(rest) > 2:
        parts = [rest[:-2]]
    elif "\\]" in rest:
        return False  # closed mid-line: inline math inside a paragraph, as dollarmath treats ``$$``
    else:
        parts = [rest]
        while True:
            line += 1
            if line >= end_line or state.isEmpty(line):
                return False
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]].rstrip()
            if text.endswith("\\]") and not _escaped(text, len(text) - 2):
                parts.append(text[:-2])
                break
            parts.append(text)
    if not silent:
        token = state.push("math_block", "math", 0)
        token.block = True
        token.content = "\n".join(parts)
        token.markup = "\\["
        token.map = [start_line, line + 1]
    state.line = line + 1
    return True


def amsmath_until_blank_line(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """mdit-py-plugins' amsmath rule, but an environment cannot run past a blank line.

    LaTeX refuses blank lines inside these environments anyway; the limit
    means an environment that is never closed cannot swallow the rest of the
    reply, and that text after the next blank line is settled for streaming.
    """
    # The opening line is checked first: this rule is tried at every line, and
    # looking for the blank line first made parsing a long list quadratic.
    first = state.src[state.bMarks[start_line] + state.tShift[start_line] : state.eMarks[start_line]]
    if not _AMSMATH_OPEN.match(first):
        return False
    limit = start_line + 1
    while limit < end_line and not state.isEmpty(limit):
        limit += 1
    return amsmath_block(state, start_line, limit, silent)


_AMSMATH_OPEN = re.compile(RE_OPEN)


# List-item and block-quote markers in front of a line: math opened inside a list item runs on past it.
_CONTAINER_MARKERS = re.compile(r"(?:[ \t]*(?:>|(?:[-+*]|[0-9]{1,9}[.)])(?=[ \t]|$)))*[ \t]*")


def display_math_search(line: str) -> Callable[[str], bool] | None:
    """For a line that opens a display-math block still looking for its end, a test for the closing line.

    None when the line opens nothing or settles itself (closed on the same
    line, or not a block at all). The streaming renderer holds back text from
    such a line until the closing line or a blank line arrives, because until
    then what follows may still turn into one math block.
    """
    match = _CONTAINER_MARKERS.match(line)
    stripped = line[match.end() if match else 0 :].rstrip()
    if stripped.startswith("$$"):
        # As dollarmath: closed on its own line, or not a block at all when "$$" comes again mid-line.
        return None if "$$" in stripped[2:] else lambda text: text.rstrip().endswith("$$")
    if stripped.startswith("\\["):
        return None if "\\]" in stripped[2:] else _closes_brackets
    match = _AMSMATH_OPEN.match(stripped)
    if match:
        end = f"\\end{{{match.group(1)}{match.group(2)}}}"
        return None if stripped.endswith(end) else lambda text: text.rstrip().endswith(end)
    return None


def _closes_brackets(line: str) -> bool:
    # The same test as bracket_math_block's, or streaming would settle lines the block may still take.
    text = line.rstrip()
    return text.endswith("\\]") and not _escaped(text, len(text) - 2)


def use_math(md: MarkdownIt) -> None:
    """Add the math rules and render them as MathML."""
    # allow_space/allow_digits off: "costs $5 and $10" stays text, as in Pandoc.
    dollarmath_plugin(
        md, allow_labels=False, allow_space=False, allow_digits=False, allow_blank_lines=False, double_inline=True
    )
    md.inline.ruler.before("escape", "math_brackets", bracket_math_inline)
    md.block.ruler.before("fence", "math_block_brackets", bracket_math_block)
    md.block.ruler.before(
        "blockquote",
        "amsmath",
        amsmath_until_blank_line,
        {"alt": ["paragraph", "reference", "blockquote", "list", "footnote_def"]},
    )
    md.add_render_rule("math_inline", lambda self, tokens, idx, options, env: render_math_inline(tokens[idx].content))
    md.add_render_rule(
        "math_inline_double", lambda self, tokens, idx, options, env: render_math_display_inline(tokens[idx].content)
    )
    md.add_render_rule("math_block", lambda self, tokens, idx, options, env: render_math_block(tokens[idx].content))
    md.add_render_rule("amsmath", lambda self, tokens, idx, options, env: render_math_block(tokens[idx].content))
