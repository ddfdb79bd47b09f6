"""Markdown to HTML for the chat view: CommonMark, tables, strikethrough, math, highlighted code.

The model's text is untrusted. Raw HTML is shown as text, links keep only
http, https and mailto addresses, images become links (the page loads
nothing from the network), and math is serialised from a checked MathML tree.

Link reference definitions (``[id]: https://…``) are switched off: one at the
end of a reply would change how links higher up render, which a streamed
reply, whose top is already on screen, cannot follow. Models rarely write
them; such a line shows as text.
"""

from __future__ import annotations

import functools
import html
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from app.core.chat_render.highlight import highlight_code, language_of
from app.core.chat_render.latex import use_math
from app.core.sandbox.isolation import run_tooltip

ALLOWED_URL_SCHEMES = ("http:", "https:", "mailto:")
CODE_ACTIONS = (("copy", "Copy"), ("insert", "Insert at cursor"), ("newfile", "Open as new file"))
# Languages the sandbox can run; their blocks get a Run action (never run unasked).
RUNNABLE = {"python": ("run", "Run in sandbox")}

_OFFSET = "quillpad_code_block_offset"
_BLOCKS = "quillpad_code_blocks"
_PENDING = "quillpad_pending"
_LINKS = "quillpad_open_links"
_PIECE = "quillpad_preview_piece"


@dataclass(frozen=True)
class CodeBlock:
    """A code block of a reply, as the model wrote it, for Copy / Insert / Open as new file.

    ``index`` is the global number used in the block's ``quillpad://code/<action>/<index>``
    links; ``language`` is the Pygments name (``"python"``), the fence's word when
    Pygments does not know it, or ``""``.
    """

    index: int
    language: str
    code: str


@dataclass(frozen=True)
class RenderedMarkdown:
    """HTML for the chat view and the code blocks it shows, in order."""

    html: str
    code_blocks: list[CodeBlock]


def is_allowed_url(url: str) -> bool:
    """True for the addresses a link may point to: http, https and mailto."""
    return url.strip().lower().startswith(ALLOWED_URL_SCHEMES)


class _ChatMarkdown(MarkdownIt):
    def validateLink(self, url: str) -> bool:
        # Autolinks to other schemes stay text; [text](other:…) gets an empty href, dropped when rendering.
        return is_allowed_url(url)


def _code_block_html(code: str, info_language: str, env: EnvType) -> str:
    blocks: list[CodeBlock] = env[_BLOCKS]
    index = env[_OFFSET] + len(blocks)
    language, lexer = language_of(info_language, code)
    blocks.append(CodeBlock(index, language, code))
    shown = html.escape(language)
    if env[_PENDING]:
        # Still being written: the app has no code for it yet, so no actions.
        # A long block's preview comes in pieces (see ``StreamingMarkdown``): "split" goes on below, "cont" goes on
        # from above; the page joins them into one box.
        css_class, actions = " ".join(("code-block pending", *env[_PIECE])), ""
    else:
        css_class = "code-block"
        runnable = (RUNNABLE[language],) if language in RUNNABLE else ()
        actions = "".join(
            f'<a class="code-action" href="quillpad://code/{action}/{index}"{_tooltip(action)}>{label}</a>'
            for action, label in (*CODE_ACTIONS, *runnable)
        )
    return (
        f'<div class="{css_class}" data-index="{index}" data-language="{shown}">'
        f'<div class="code-toolbar"><span class="code-language">{shown}</span>{actions}</div>'
        f'<pre class="highlight"><code>{highlight_code(code, lexer)}</code></pre></div>\n'
    )


def _tooltip(action: str) -> str:
    if action != "run":
        return ""
    return f' title="{html.escape(run_tooltip(sys.platform))}"'


def _fence(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ""
    return _code_block_html(token.content, info.split(maxsplit=1)[0] if info else "", env)


def _code_block(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    return _code_block_html(tokens[idx].content, "", env)


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    href = tokens[idx].attrGet("href")
    allowed = isinstance(href, str) and is_allowed_url(href)
    env[_LINKS].append(allowed)
    return str(self.renderToken(tokens, idx, options, env)) if allowed else ""


def _link_close(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    allowed = env[_LINKS].pop() if env[_LINKS] else False
    return str(self.renderToken(tokens, idx, options, env)) if allowed else ""


def _image(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    # Never loaded: the chat page must not reach the network. Shown as a link to the picture instead.
    token = tokens[idx]
    label = html.escape(str(self.renderInlineAsText(token.children, options, env)) or "image")
    src = token.attrGet("src")
    if not isinstance(src, str) or not is_allowed_url(src):
        return label
    title = token.attrGet("title")
    title_attr = f' title="{html.escape(title)}"' if isinstance(title, str) and title else ""
    return f'<a class="image-link" href="{html.escape(src)}"{title_attr}>{label}</a>'


@functools.lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The shared, configured Markdown parser (built on first use)."""
    md = _ChatMarkdown("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.disable("reference")
    use_math(md)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("image", _image)
    return md


def new_env(code_block_offset: int, pending: bool = False, piece: tuple[str, ...] = ()) -> EnvType:
    """Parser state for one rendering: where code-block numbering starts, whether it is a stream's tail,
    and for a piece of a long tail's preview, its place ("split": more follows, "cont": it goes on from above)."""
    return {_OFFSET: code_block_offset, _BLOCKS: [], _PENDING: pending, _LINKS: [], _PIECE: piece}


def render_tokens(tokens: Sequence[Token], env: EnvType) -> RenderedMarkdown:
    """HTML for parsed tokens; the code blocks are numbered on from those already in ``env``."""
    md = parser()
    start = len(env[_BLOCKS])
    rendered = str(md.renderer.render(tokens, md.options, env))
    return RenderedMarkdown(rendered, list(env[_BLOCKS][start:]))


def render_markdown(text: str, code_block_offset: int = 0) -> RenderedMarkdown:
    """Render a reply (or its thinking) to HTML for the chat view.

    Code blocks are numbered from ``code_block_offset``, so numbers stay
    unique across the messages of a page; each is returned with its raw code.
    """
    env = new_env(code_block_offset)
    return render_tokens(parser().parse(text, env), env)
