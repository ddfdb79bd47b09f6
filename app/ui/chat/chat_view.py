"""The conversation, rendered as HTML in Qt WebEngine and updated incrementally.

Replies stream in as small JavaScript calls: finished Markdown blocks are
appended once, only the unfinished last block is replaced (and of a long
one, only its last lines: the rest is held as pieces, see ``StreamingMarkdown``). Links are never
followed inside the view: ``quillpad://`` links become signals, web links
open in the system browser.
"""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources

from PySide6.QtCore import QFile, QIODevice, QObject, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWebChannel import QWebChannel
from PySide6.QtWebEngineCore import QWebEnginePage
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from app.core.chat_render import CodeBlock, StreamingMarkdown, StreamUpdate, chat_css, render_markdown
from app.core.conversations import Attachment
from app.core.refs import RefMatch


def _page_template() -> str:
    return (resources.files("resources") / "chat" / "page.html").read_text(encoding="utf-8")


def _webchannel_js() -> str:
    """Qt's QWebChannel client, inlined: the page loads nothing from outside."""
    source = QFile(":/qtwebchannel/qwebchannel.js")
    if not source.open(QIODevice.OpenModeFlag.ReadOnly):
        return ""
    return bytes(source.readAll().data()).decode("utf-8")


class LinkBridge(QObject):
    """What the page's click handler calls (through QWebChannel)."""

    linkActivated = Signal(str)  # the quillpad:// URL's host and path, e.g. "code/copy/3"

    @Slot(str)
    def linkClicked(self, href: str) -> None:
        url = QUrl(href)
        if url.scheme() == "quillpad":
            self.linkActivated.emit(url.host() + url.path())
        elif url.scheme() in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)


class ChatPage(QWebEnginePage):
    """Refuses every navigation but the page's own content."""

    def acceptNavigationRequest(self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, main: bool) -> bool:
        url = QUrl(url)
        return url.scheme() in ("data", "about") or url.isEmpty()


@dataclass
class _Streaming:
    thinking: StreamingMarkdown
    answer: StreamingMarkdown
    thinking_text: list[str] = field(default_factory=list)
    answer_text: list[str] = field(default_factory=list)
    thinking_done: bool = False


class ChatView(QWebEngineView):
    """The conversation pane. Call order for a reply: start_reply, append_*, finish_reply."""

    codeAction = Signal(str, object)  # "copy" | "insert" | "newfile", CodeBlock
    replyCodeBlocks = Signal(int, list)  # message id, the CodeBlocks of its finished answer
    ready = Signal()

    def __init__(self, parent: QWidget | None = None, dark: bool = False) -> None:
        super().__init__(parent)
        self._page = ChatPage(self)
        self._links = LinkBridge(self)
        self._links.linkActivated.connect(self._on_link)
        self._channel = QWebChannel(self._page)
        self._channel.registerObject("bridge", self._links)
        self._page.setWebChannel(self._channel)
        self.setPage(self._page)
        self._ready = False
        self._pending: list[str] = []
        self._code_blocks: dict[int, CodeBlock] = {}
        self._streams: dict[int, _Streaming] = {}
        self._answer_start: dict[int, int] = {}  # message id -> its answer's first code-block index
        # Renders text a stream collected without rendering (a long block renders less often).
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush_streams)
        self.loadFinished.connect(self._on_loaded)
        nonce = secrets.token_hex(16)
        page = (
            _page_template()
            .replace("/*NONCE*/", nonce)
            .replace("/*CSS*/", chat_css(dark))
            .replace("/*WEBCHANNEL*/", _webchannel_js())
        )
        self.setHtml(page, QUrl("about:blank"))

    # -- plumbing ----------------------------------------------------------

    @property
    def is_ready(self) -> bool:
        return self._ready

    def _on_loaded(self, ok: bool) -> None:
        if self._ready:
            return
        self._ready = True
        for script in self._pending:
            self._page.runJavaScript(script)
        self._pending.clear()
        self.ready.emit()

    def _call(self, function: str, *args: object) -> None:
        script = f"{function}({', '.join(json.dumps(a) for a in args)});"
        if self._ready:
            self._page.runJavaScript(script)
        else:
            self._pending.append(script)

    def _on_link(self, path: str) -> None:
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "code" and parts[2].isdigit():
            block = self._code_blocks.get(int(parts[2]))
            if block is not None and parts[1] in ("copy", "insert", "newfile", "run"):
                self.codeAction.emit(parts[1], block)

    def _next_code_index(self) -> int:
        return max(self._code_blocks, default=-1) + 1

    def _remember(self, blocks: list[CodeBlock]) -> None:
        for block in blocks:
            self._code_blocks[block.index] = block

    # -- whole messages -------------------------------------------------------

    def set_dark(self, dark: bool) -> None:
        self._call("setTheme", chat_css(dark))

    def clear(self) -> None:
        self._call("clearAll")
        self._code_blocks.clear()
        self._streams.clear()

    def add_user_message(self, message_id: int, text: str, attachments: Sequence[Attachment] = ()) -> None:
        """A user's message: plain text (kept as typed), then a chip per attachment it was sent with,
        their text folded away."""
        body = f'<p class="plain">{html.escape(text)}</p>'
        if attachments:
            chips = "".join(f'<span class="chip">{html.escape(a.label)}</span>' for a in attachments)
            attached = "\n\n".join(a.as_markdown() for a in attachments)
            body += (
                f'<div class="chips">{chips}</div>'
                '<details class="attachment"><summary>Attached context</summary>'
                f'<pre class="plain">{html.escape(attached)}</pre></details>'
            )
        self._call("addMessage", message_id, "user", body, "")

    def add_assistant_message(self, message_id: int, answer: str, thinking: str = "", note: str = "") -> None:
        """A finished reply from history."""
        self.start_reply(message_id)
        if thinking:
            self.append_thinking(message_id, thinking)
        self.append_answer(message_id, answer)
        self.finish_reply(message_id, note, "incomplete" if note else "")

    def add_output(self, message_id: int, markdown: str) -> None:
        """A block of program output (a sandbox run), rendered as Markdown."""
        rendered = render_markdown(markdown, self._next_code_index())
        self._remember(rendered.code_blocks)
        self._call("addMessage", message_id, "output", rendered.html, "")

    def add_notice(self, message_id: int, text: str) -> None:
        """A system line in the conversation (errors, dropped turns)."""
        self._call("addMessage", message_id, "notice", f'<p class="plain">{html.escape(text)}</p>', "")

    def add_tool_step(self, message_id: int, summary: str, arguments: object, result: str, state: str) -> None:
        """One agent tool step, folded: the line says tool, arguments and result size; unfolding
        shows the arguments and the result."""
        args = json.dumps(arguments, indent=2, ensure_ascii=False)
        body = (
            f'<details class="tool {html.escape(state)}"><summary>{html.escape(summary)}</summary>'
            f'<pre class="plain">{html.escape(args)}</pre>'
            + (f'<pre class="plain">{html.escape(result)}</pre>' if result else "")
            + "</details>"
        )
        self._call("addMessage", message_id, "notice", body, "")

    def remove_message(self, message_id: int) -> None:
        self._call("removeMessage", message_id)

    # -- streaming ----------------------------------------------------------

    def start_reply(self, message_id: int) -> None:
        self._streams[message_id] = _Streaming(StreamingMarkdown(), StreamingMarkdown())
        self._call("startReply", message_id)

    def _apply(self, message_id: int, function: str, update: StreamUpdate) -> None:
        if not update.changed:
            self._schedule_flush()
            return
        self._remember(update.new_code_blocks)
        self._call(
            function, message_id, update.new_blocks_html, update.tail_html, update.held_html, update.held_cleared
        )

    def _schedule_flush(self) -> None:
        waits = [
            due
            for stream in self._streams.values()
            for markdown in (stream.thinking, stream.answer)
            if (due := markdown.due_in()) is not None
        ]
        if waits and not self._flush_timer.isActive():
            self._flush_timer.start(max(1, round(min(waits) * 1000)))

    def _flush_streams(self) -> None:
        for message_id, stream in list(self._streams.items()):
            for markdown, function in ((stream.thinking, "appendThinking"), (stream.answer, "appendAnswer")):
                if markdown.due_in() == 0.0:
                    self._apply(message_id, function, markdown.flush())
        self._schedule_flush()

    def _stream(self, message_id: int) -> _Streaming:
        stream = self._streams.get(message_id)
        if stream is None:
            self.start_reply(message_id)
            stream = self._streams[message_id]
        return stream

    def append_thinking(self, message_id: int, text: str) -> None:
        stream = self._stream(message_id)
        if not stream.thinking_text:
            stream.thinking = StreamingMarkdown(self._next_code_index())
        stream.thinking_text.append(text)
        self._apply(message_id, "appendThinking", stream.thinking.feed(text))

    def _finish_thinking(self, message_id: int, stream: _Streaming) -> None:
        if stream.thinking_text and not stream.thinking_done:
            self._apply(message_id, "appendThinking", stream.thinking.finish())
        stream.thinking_done = True

    def append_answer(self, message_id: int, text: str) -> None:
        stream = self._stream(message_id)
        if not stream.answer_text:
            # Thinking is over once the answer starts; its last block is final.
            self._finish_thinking(message_id, stream)
            stream.answer = StreamingMarkdown(self._next_code_index())
            self._answer_start[message_id] = self._next_code_index()
        stream.answer_text.append(text)
        self._apply(message_id, "appendAnswer", stream.answer.feed(text))

    def finish_reply(self, message_id: int, note: str = "", state: str = "") -> None:
        """End a reply; ``state`` is "" (complete), "stopped", "incomplete" or "error"."""
        stream = self._streams.pop(message_id, None)
        if stream is not None:
            self._finish_thinking(message_id, stream)
            self._apply(message_id, "appendAnswer", stream.answer.finish())
        self._call("finishReply", message_id, note, state)
        start = self._answer_start.pop(message_id, None)
        if start is not None:
            blocks = [block for index, block in sorted(self._code_blocks.items()) if index >= start]
            if blocks:
                self.replyCodeBlocks.emit(message_id, blocks)

    def annotate_code(self, index: int, matches: list[RefMatch]) -> None:
        """Under a code block: where its code may come from, and the matching lines highlighted."""
        if not matches:
            return
        items = "".join(
            f"<li>{html.escape(m.describe())} <span class='code-refs-lines'>(lines {m.lines[0]}–{m.lines[1]} "
            "of this block)</span></li>"
            for m in matches[:5]
        )
        more = f"<li>and {len(matches) - 5} more</li>" if len(matches) > 5 else ""
        body = (
            f"<b>Reproduces code found on this computer</b> — check the licence before using it:<ul>{items}{more}</ul>"
        )
        self._call("annotateCode", index, body, [list(m.lines) for m in matches])

    def dispose(self) -> None:
        """Delete the page now: Qt WebEngine warns if a page outlives its profile."""
        self._ready = False
        self._page.deleteLater()

    def code_block(self, index: int) -> CodeBlock | None:
        return self._code_blocks.get(index)

    def render_static(self, text: str) -> str:
        """HTML for ``text`` as a reply would show it (used by tests and previews)."""
        return render_markdown(text).html
