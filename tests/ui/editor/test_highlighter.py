"""Syntax highlighting: line-by-line results equal whole-text lexing, and edits re-lex only what changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pygments.lexer import RegexLexer, combined
from pygments.lexers import get_lexer_by_name
from pygments.lexers.special import TextLexer
from pygments.token import Keyword, Name, Punctuation, String, Token, Whitespace
from PySide6.QtGui import QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit
from pytestqt.qtbot import QtBot

from app.ui.editor.highlighter import PygmentsHighlighter
from app.ui.editor.lexing import BlockLexer, choose_lexer, default_extension

SAMPLES = {
    "python": 'x = 1\ns = """first\nmiddle line\nlast"""\ndef f(a):\n    return a  # done\n',
    "c": "int a;\n/* a block\n   comment */\nint b; // line\n#define X \\\n  1\n",
    "javascript": "let a = 1;\n/* c\n d */\nlet s = `template\nline ${a}`;\nlet r = /re+/g;\n",
    "java": "class A {\n  /** doc\n   * more */\n  int x = 0;\n}\n",
    "yaml": "a: |\n  text: not a key\n  more\nb: 2\n",
    "markdown": "# Title\n```python\nx = 1\n```\n*text*\n",
    "html": "<p>\n<!-- c\n d -->\n<script>\nlet a = 1;\n</script>\n",
    "rust": 'fn a() {}\n/* c /* nested */\n d */\nlet s = "a\nb";\n',
    "json": '{\n  "a": [1, 2],\n  "b": null\n}\n',
    # Rules picked per option (unicode level): its own tokens.
    "csharp": 'class A {\n  /* c\n  d */\n  string s = @"verbatim\nline";\n}\n',
}


def _colour(fmt: QTextCharFormat | None) -> str | None:
    if fmt is None or not fmt.hasProperty(QTextCharFormat.Property.ForegroundBrush):
        return None
    return str(fmt.foreground().color().name())


def _expected(highlighter: PygmentsHighlighter, text: str) -> list[str | None]:
    """Colour of every character when the whole text is lexed in one go."""
    colours: list[str | None] = [None] * len(text)
    for pos, ttype, value in highlighter.lexer.get_tokens_unprocessed(text + "\n"):
        colour = _colour(highlighter.theme.format_for(ttype))
        for i in range(pos, min(pos + len(value), len(text))):
            colours[i] = colour
    return colours


def _actual(editor: QPlainTextEdit) -> list[str | None]:
    """Colour of every character as the editor shows it (newlines: None)."""
    colours: list[str | None] = []
    block = editor.document().firstBlock()
    while block.isValid():
        text = block.text()
        line: list[str | None] = [None] * len(text)
        # Qt counts UTF-16 units: map them back to code points.
        units = [i for i, char in enumerate(text) for _ in range(2 if ord(char) > 0xFFFF else 1)]
        for item in block.layout().formats():
            for unit in range(item.start, min(item.start + item.length, len(units))):
                line[units[unit]] = _colour(item.format)
        colours.extend(line)
        colours.append(None)
        block = block.next()
    return colours[:-1]


def _wrong_lines(editor: QPlainTextEdit, highlighter: PygmentsHighlighter) -> list[int]:
    text = editor.document().toPlainText()
    expected, actual = _expected(highlighter, text), _actual(editor)
    wrong = (i for i in range(len(text)) if text[i] != "\n" and expected[i] != actual[i])
    return sorted({text.count("\n", 0, i) + 1 for i in wrong})


def _editor(qtbot: QtBot, language: str, text: str) -> tuple[QPlainTextEdit, PygmentsHighlighter]:
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    highlighter = PygmentsHighlighter(editor.document(), get_lexer_by_name(language, stripnl=False, ensurenl=False))
    editor.setPlainText(text)
    qtbot.waitUntil(lambda: highlighter.is_complete)
    return editor, highlighter


def _insert(editor: QPlainTextEdit, line: int, column: int, text: str) -> None:
    block = editor.document().findBlockByNumber(line - 1)
    cursor = QTextCursor(block)
    cursor.setPosition(block.position() + column)
    cursor.insertText(text)


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_each_line_is_coloured_as_whole_text_lexing_colours_it(qtbot: QtBot, language: str) -> None:
    editor, highlighter = _editor(qtbot, language, SAMPLES[language])
    assert _wrong_lines(editor, highlighter) == []


def test_a_triple_quoted_string_spanning_lines(qtbot: QtBot) -> None:
    editor, highlighter = _editor(qtbot, "python", SAMPLES["python"])
    string = _colour(highlighter.theme.format_for(Token.Literal.String.Double))
    middle = editor.document().findBlockByNumber(2)
    assert middle.text() == "middle line"
    assert [(f.start, f.length, _colour(f.format)) for f in middle.layout().formats()] == [(0, 11, string)]
    # Opening the string earlier turns what followed into string, and closing it turns it back.
    _insert(editor, 1, 0, '"""')
    assert _wrong_lines(editor, highlighter) == []
    assert _colour(editor.document().findBlockByNumber(4).layout().formats()[0].format) == string
    cursor = QTextCursor(editor.document())
    cursor.setPosition(3, QTextCursor.MoveMode.KeepAnchor)
    cursor.removeSelectedText()
    assert _wrong_lines(editor, highlighter) == []


def test_editing_one_line_of_10000_relexes_only_that_line(qtbot: QtBot) -> None:
    body = "\n".join(f"def f{i}(x):\n    return x + {i}  # line {i}" for i in range(5000))
    editor, highlighter = _editor(qtbot, "python", body)
    assert editor.document().blockCount() == 10_000
    highlighter.highlighted_blocks = 0
    _insert(editor, 5001, 4, "y = 2; ")
    assert highlighter.highlighted_blocks == 1
    highlighter.highlighted_blocks = 0
    _insert(editor, 7000, 0, "\n")
    # The two halves of the split line, plus the next one: Qt gives a new block an unknown state.
    assert highlighter.highlighted_blocks == 3
    assert _wrong_lines(editor, highlighter) == []


def test_a_change_that_reaches_far_is_finished_in_the_background(qtbot: QtBot) -> None:
    body = "\n".join(f"v{i} = {i}" for i in range(3000))
    editor, highlighter = _editor(qtbot, "python", body)
    highlighter.highlighted_blocks = 0
    _insert(editor, 2, 0, '"""')  # everything below becomes a string
    assert highlighter.highlighted_blocks == PygmentsHighlighter.SYNC_BLOCKS  # the rest is deferred
    assert not highlighter.is_complete
    qtbot.waitUntil(lambda: highlighter.is_complete)
    assert _wrong_lines(editor, highlighter) == []
    highlighter.highlighted_blocks = 0
    _insert(editor, 3000, 0, "x")
    assert highlighter.highlighted_blocks == 1


def test_typing_a_closer_recolours_the_lines_above(qtbot: QtBot) -> None:
    # JavaScript's block comment is one regex: an unclosed /* is no comment until */ is typed below.
    editor, highlighter = _editor(qtbot, "javascript", "let a = 1;\n\nlet b = 2;\nlet c = 3;\n")
    _insert(editor, 2, 0, "/* start")
    assert _wrong_lines(editor, highlighter) == []
    _insert(editor, 4, 10, " */")
    qtbot.waitUntil(lambda: _wrong_lines(editor, highlighter) == [])


def test_emoji_do_not_shift_colours(qtbot: QtBot) -> None:
    editor, highlighter = _editor(qtbot, "python", "s = '🙂🙂' + name  # é\n")
    assert _wrong_lines(editor, highlighter) == []
    comment = _colour(highlighter.theme.format_for(Token.Comment.Single))
    formats = editor.document().firstBlock().layout().formats()
    # "# é" starts at code point 17, which is UTF-16 unit 19 after two emoji.
    assert (19, 3, comment) in [(f.start, f.length, _colour(f.format)) for f in formats]


def test_very_long_lines_stay_uncoloured_but_keep_the_state(qtbot: QtBot) -> None:
    long_line = "x = [" + "1, " * 10_000 + "]"
    editor, _ = _editor(qtbot, "python", f'a = 1\n{long_line}\ns = "ok"\n')
    assert editor.document().findBlockByNumber(1).layout().formats() == []
    assert editor.document().findBlockByNumber(2).layout().formats() != []


def test_a_crashing_lexer_leaves_text_uncoloured(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    editor, _ = _editor(qtbot, "python", "x = 1\n")

    def broken(*_args: object, **_kwargs: object) -> object:
        raise RuntimeError("lexer bug")

    monkeypatch.setattr("app.ui.editor.lexing._regex_step", broken)
    editor.appendPlainText("y = 2")  # must not raise
    assert editor.document().findBlockByNumber(1).layout().formats() == []


def test_dark_style_changes_the_colours(qtbot: QtBot) -> None:
    editor, highlighter = _editor(qtbot, "python", "def f():\n    pass\n")
    light = _actual(editor)
    highlighter.set_dark(True)
    qtbot.waitUntil(lambda: highlighter.is_complete)
    assert highlighter.theme.dark and _actual(editor) != light
    assert _wrong_lines(editor, highlighter) == []


def test_choosing_a_lexer() -> None:
    assert choose_lexer("main.py").name == "Python"
    assert choose_lexer("Makefile").name == "Makefile"
    assert choose_lexer("script", "#!/usr/bin/env python3\nprint(1)\n").name == "Python"
    assert choose_lexer(None, "", hint="rust").name == "Rust"
    assert choose_lexer(None, "just some words\nin a note\n").name == "Text only"
    assert choose_lexer("notes.unknownext", "").name == "Text only"
    assert choose_lexer("x.c", hint="no-such-language").name == "C"
    assert default_extension(choose_lexer(hint="python")) == ".py"
    assert default_extension(TextLexer()) == ".txt"


def test_lexer_modes() -> None:
    assert BlockLexer(get_lexer_by_name("python")).mode == "regex"
    assert BlockLexer(get_lexer_by_name("c")).mode == "regex+own"  # C refines builtin type names
    assert BlockLexer(get_lexer_by_name("yaml")).mode == "context"
    assert BlockLexer(get_lexer_by_name("json")).mode == "alone"
    assert BlockLexer(get_lexer_by_name("csharp")).mode == "regex+own"  # rules per unicode level
    assert not BlockLexer(TextLexer()).incremental


class _RefiningLexer(RegexLexer):
    """Refines names in its own method (as C's lexer does) and has a combined state that spans lines."""

    name = "Refining test language"
    tokens = {  # noqa: RUF012  # Pygments' class-level format
        "root": [
            (r'"', String, combined("escape", "string")),
            (r"\w+", Name),
            (r"\s+", Whitespace),
            (r".", Punctuation),
        ],
        "escape": [(r"\\.", String.Escape)],
        "string": [(r'"', String, "#pop"), (r'[^"\\\\\n]+', String), (r"\n", String)],
    }

    def get_tokens_unprocessed(self, text: str, stack: tuple[str, ...] = ("root",)) -> Iterator[tuple[int, Any, str]]:
        for pos, ttype, value in super().get_tokens_unprocessed(text, stack):
            yield pos, (Keyword if ttype is Name and value == "end" else ttype), value


def test_a_lexer_with_its_own_method_and_a_string_spanning_lines(qtbot: QtBot) -> None:
    # Its own loop cannot start inside the string (a combined state has no name it knows): lines
    # there are lexed again from where the string began.
    editor = QPlainTextEdit()
    qtbot.addWidget(editor)
    highlighter = PygmentsHighlighter(editor.document(), _RefiningLexer(stripnl=False, ensurenl=False))
    assert highlighter.block_lexer.mode == "regex+own"
    editor.setPlainText('end x\ns = "first\n' + "".join(f"line {i} \\n end\n" for i in range(20)) + '" end\nend\n')
    qtbot.waitUntil(lambda: highlighter.is_complete)
    assert _wrong_lines(editor, highlighter) == []
    _insert(editor, 10, 0, "more end ")
    assert _wrong_lines(editor, highlighter) == []
    _insert(editor, 2, 4, "x")  # still a string
    assert _wrong_lines(editor, highlighter) == []
    _insert(editor, 2, 4, '"')  # closes it: the rest changes
    qtbot.waitUntil(lambda: _wrong_lines(editor, highlighter) == [])


def test_c_builtin_types_keep_their_refinement(qtbot: QtBot) -> None:
    editor, highlighter = _editor(qtbot, "c", "size_t n;\n")
    assert _wrong_lines(editor, highlighter) == []
    keyword_type = _colour(highlighter.theme.format_for(Token.Keyword.Type))
    assert _colour(editor.document().firstBlock().layout().formats()[0].format) == keyword_type
