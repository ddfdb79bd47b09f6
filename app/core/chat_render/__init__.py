"""Markdown to HTML for the chat view (Qt-free): whole messages and replies that are still streaming.

``render_markdown`` renders a finished message, thinking text included;
``StreamingMarkdown`` renders a reply as it arrives; ``chat_css`` is the
page's style sheet. The HTML needs no network and no JavaScript: code is
highlighted by Pygments, math becomes MathML (latex2mathml), and code-block
actions are plain ``quillpad://code/<copy|insert|newfile>/<index>`` links for
the page to intercept, with the code itself returned as ``CodeBlock``.
"""

from app.core.chat_render.css import chat_css
from app.core.chat_render.highlight import file_suffix
from app.core.chat_render.latex import latex_to_html
from app.core.chat_render.markdown import CodeBlock, RenderedMarkdown, is_allowed_url, render_markdown
from app.core.chat_render.streaming import StreamingMarkdown, StreamUpdate

__all__ = [
    "CodeBlock",
    "RenderedMarkdown",
    "StreamUpdate",
    "StreamingMarkdown",
    "chat_css",
    "file_suffix",
    "is_allowed_url",
    "latex_to_html",
    "render_markdown",
]
