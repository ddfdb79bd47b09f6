"""Our rule tables lex exactly as Pygments' own loop does, for every regex lexer Pygments ships."""

from __future__ import annotations

import pytest
from pygments.lexer import RegexLexer
from pygments.lexers import find_lexer_class_by_name, get_all_lexers

from app.ui.editor.lexing import BlockLexer, TokenList
from app.ui.editor.rule_tables import is_combined, rule_table

# Constructs of many languages at once: strings, comments and blocks that span lines, escapes, nesting.
POLYGLOT = """\
# comment "quoted" /* not */ -- also
def f(a, b=1):  // c++ comment
    s = f\"\"\"first {a!r:>{b}}
    second \\" ' ` ${x} #{y} {{z}}
    \"\"\" + 'x\\n' + `tpl ${a}
    line`
/* block
   comment */ (* ml *) {- hs -} <!-- html -->
<tag attr="v">text</tag> <?php echo $x; ?> {% if x %}{{ y }}{% endif %}
key: value
  - item: [1, 2.5e3, 0x1F, true, null]
@"verbatim
line" r'raw' b"bytes" 'c' 42L 3.14f
end
"""


# Lexers whose line-by-line result differs, as it did before the rule tables (with Pygments' private ones).
KNOWN_DIFFERENT = {
    # Its callbacks remember user-defined opcodes on the lexer class: lexing a part again sees more names.
    "csound": "state kept outside the stack",
    # Its callback yields positions relative to the line it lexes again: the whole-text result is off too.
    "fortranfixed": "Pygments' own positions are wrong",
    # Rules per option variant, on top of Inform 7's; differs the same way as before, not looked into further.
    "i6t": "differs as before the rule tables",
}


def _regex_lexer_names() -> list[object]:
    names = sorted(
        aliases[0]
        for _name, aliases, _files, _mimes in get_all_lexers()
        if aliases and issubclass(find_lexer_class_by_name(aliases[0]), RegexLexer)
    )
    return [
        pytest.param(name, marks=[pytest.mark.xfail(reason=KNOWN_DIFFERENT[name], strict=True)])
        if name in KNOWN_DIFFERENT
        else name
        for name in names
    ]


def _whole_text_lines(block_lexer: BlockLexer, text: str) -> list[TokenList]:
    """The lexer's own tokens for the whole text, cut at line ends as the editor shows them."""
    lines: list[TokenList] = [[] for _ in text.split("\n")]
    starts = [0]
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    lexer = block_lexer.lexer
    if block_lexer.mode == "regex":
        # Pygments' loop itself: a lexer that refines its tokens in a method taking no start stack
        # (Asymptote) is lexed by our loop alone and shows the unrefined tokens.
        assert isinstance(lexer, RegexLexer)
        tokens = RegexLexer.get_tokens_unprocessed(lexer, text + "\n")
    else:
        tokens = lexer.get_tokens_unprocessed(text + "\n")
    line = 0
    for pos, ttype, value in tokens:
        end = pos + len(value)
        while line < len(lines) and pos < end:
            line_end = starts[line + 1] - 1
            piece_end = min(end, line_end)
            if piece_end > pos:
                lines[line].append((pos - starts[line], ttype, text[pos:piece_end]))
            if end <= line_end:
                break
            pos = max(pos, line_end + 1)
            line += 1
    return lines


def _merged(tokens: TokenList) -> list[tuple[int, tuple[str, ...]]]:
    """Colour per character (token boundaries within one type do not show)."""
    return [(pos + i, ttype) for pos, ttype, value in tokens for i in range(len(value))]


@pytest.mark.parametrize("name", _regex_lexer_names())
def test_line_by_line_lexing_equals_pygments_whole_text_lexing(name: str) -> None:
    lexer = find_lexer_class_by_name(name)(stripnl=False, stripall=False, ensurenl=False)
    block_lexer = BlockLexer(lexer)
    assert block_lexer.incremental or block_lexer.mode == "alone"
    if not block_lexer.incremental:
        pytest.skip(f"{name} lexes each line on its own")
    ours = [_merged(tokens) for tokens, _state in block_lexer.lex_lines(POLYGLOT)]
    expected = [_merged(tokens) for tokens in _whole_text_lines(block_lexer, POLYGLOT)]
    assert ours == expected


def test_combined_states_get_readable_names_of_their_own() -> None:
    table = rule_table(find_lexer_class_by_name("python")())
    combined = sorted(state for state in table if is_combined(state))
    assert "combined(fstringescape, tdqf)" in combined
    assert all(not state.startswith("_") for state in table)
