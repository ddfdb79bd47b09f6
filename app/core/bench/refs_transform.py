"""How the code-reference benchmark disguises copied functions (written before any tuning).

Each transformation takes the source of one Python function and returns a
changed copy that still means the same (``None`` when it does not apply):
identifiers renamed, whitespace reformatted (re-indented, one argument per
line, no spaces around operators), the layout rewritten by ``ast.unparse``,
comments and docstrings replaced, and independent neighbouring statements
swapped.
"""

from __future__ import annotations

import ast
import builtins
import io
import itertools
import keyword
import random
import tokenize
from collections.abc import Callable

Transform = Callable[[str, random.Random], "str | None"]
_KEEP = set(keyword.kwlist) | set(dir(builtins)) | {"self", "cls"}
_WORDS = (
    "alpha", "bravo", "cargo", "delta", "ember", "fjord", "gamma", "harbor", "igloo", "jolly", "kayak", "lemon",
    "mango", "nylon", "orbit", "pixel", "quartz", "raven", "sonic", "tulip", "umbra", "vivid", "walnut", "xenon",
    "yodel", "zebra",
)  # fmt: skip


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(source).readline))


def _defined_names(tree: ast.AST) -> set[str]:
    """Names the function itself introduces: its name, parameters, assigned and loop variables."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return {name for name in names if name not in _KEEP}


def _replace_tokens(source: str, replacements: dict[tuple[int, int], tuple[tuple[int, int], str]]) -> str:
    """Replace text spans: ``replacements[start] = (end, new)``, positions as tokenize gives them."""
    starts = [0]
    for line in source.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(position: tuple[int, int]) -> int:
        return starts[position[0] - 1] + position[1]

    text = source
    for start, (end, new) in sorted(replacements.items(), reverse=True):
        text = text[: offset(start)] + new + text[offset(end) :]
    return text


def rename_identifiers(source: str, rng: random.Random) -> str | None:
    """Every name the function defines gets a new, unrelated one (keyword arguments at calls stay)."""
    tree = ast.parse(source)
    names = sorted(_defined_names(tree))
    if not names:
        return None
    words = list(_WORDS)
    rng.shuffle(words)
    new = {name: f"{words[i % len(words)]}_{i}" for i, name in enumerate(names)}
    tokens = _tokens(source)
    replacements = {}
    depth_call = 0
    for index, tok in enumerate(tokens):
        if tok.type == tokenize.OP and tok.string in "([{":
            depth_call += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth_call -= 1
        if tok.type != tokenize.NAME or tok.string not in new:
            continue
        before = tokens[index - 1].string if index else ""
        after = tokens[index + 1].string if index + 1 < len(tokens) else ""
        if before == ".":
            continue  # an attribute of some other object keeps its name
        keyword_argument = after == "=" and depth_call > 0 and before in {"(", ","}
        if keyword_argument and not _inside_def_signature(tokens, index):
            continue  # ``f(x=1)`` at a call keeps the callee's parameter name; a default in a def is renamed
        replacements[tok.start] = (tok.end, new[tok.string])
    return _replace_tokens(source, replacements)


def _inside_def_signature(tokens: list[tokenize.TokenInfo], index: int) -> bool:
    depth = 0
    for back in range(index - 1, -1, -1):
        tok = tokens[back]
        if tok.string in ")]}":
            depth += 1
        elif tok.string in "([{":
            if depth == 0:
                return (
                    back > 0
                    and tokens[back - 1].type == tokenize.NAME
                    and back > 1
                    and tokens[back - 2].string == "def"
                )
            depth -= 1
        elif tok.type == tokenize.NEWLINE:
            return False
    return False


def reformat_whitespace(source: str, rng: random.Random) -> str | None:
    """The same tokens laid out differently: two-space indents, no spaces around operators,
    one item per line inside brackets, blank lines between statements."""
    out: list[str] = []
    indent = 0
    depth = 0
    at_line_start = True
    previous: tokenize.TokenInfo | None = None
    for tok in _tokens(source):
        kind, text = tok.type, tok.string
        if kind == tokenize.INDENT:
            indent += 1
            continue
        if kind == tokenize.DEDENT:
            indent -= 1
            continue
        if kind in (tokenize.NEWLINE, tokenize.NL):
            if depth == 0:
                out.append("\n")
                if kind == tokenize.NEWLINE and rng.random() < 0.3:
                    out.append("\n")
                at_line_start = True
            continue
        if kind == tokenize.ENDMARKER:
            break
        if kind == tokenize.COMMENT:
            out.append(("  " if not at_line_start else "  " * indent) + text + ("\n" if depth == 0 else ""))
            if depth:
                out.append("\n" + "  " * (indent + depth + 1))
            at_line_start = depth == 0
            continue
        if at_line_start:
            out.append("  " * indent)
            at_line_start = False
        elif previous is not None and _needs_space(previous, tok):
            out.append(" ")
        out.append(text)
        if kind == tokenize.OP and text in "([{":
            depth += 1
        elif kind == tokenize.OP and text in ")]}":
            depth -= 1
        elif kind == tokenize.OP and text == "," and depth > 0:
            out.append("\n" + "  " * (indent + depth + 1))
            previous = None
            continue
        previous = tok
    return "".join(out)


def _needs_space(left: tokenize.TokenInfo, right: tokenize.TokenInfo) -> bool:
    wordy = (tokenize.NAME, tokenize.NUMBER, tokenize.STRING)
    if left.type in wordy and right.type in wordy:
        return True
    return left.type == tokenize.OP and left.string == ":" and right.type != tokenize.OP


def unparse_layout(source: str, rng: random.Random) -> str | None:
    """The layout ``ast.unparse`` gives: comments gone, quotes and parentheses normalised."""
    return ast.unparse(ast.parse(source)) + "\n"


def change_comments(source: str, rng: random.Random) -> str | None:
    """Comments removed or rewritten, docstrings replaced by other text."""
    tokens = _tokens(source)
    replacements = {}
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.add((first.lineno, first.col_offset))
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            note = rng.choice(("# handle this case", "", "# NOTE: see above", "# step"))
            replacements[tok.start] = (tok.end, note)
        elif tok.type == tokenize.STRING and tok.start in docstrings:
            replacements[tok.start] = (tok.end, '"""Rewritten description of what this does."""')
    changed = _replace_tokens(source, replacements)
    if changed == source:
        # Nothing to change: add a comment line so the copy still differs.
        lines = changed.splitlines(keepends=True)
        body = next((i for i, line in enumerate(lines) if line.rstrip().endswith(":")), 0)
        indent = len(lines[body + 1]) - len(lines[body + 1].lstrip()) if body + 1 < len(lines) else 4
        lines.insert(body + 1, " " * indent + "# added while reviewing\n")
        changed = "".join(lines)
    return changed


def _reads_writes(node: ast.stmt) -> tuple[set[str], set[str]]:
    reads: set[str] = set()
    writes: set[str] = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (writes if isinstance(sub.ctx, ast.Store) else reads).add(sub.id)
        elif isinstance(sub, ast.Attribute) and isinstance(sub.ctx, ast.Store):
            writes.add(ast.unparse(sub))
        elif isinstance(sub, ast.Call):
            writes.add("<call>")  # a call may do anything: not moved past another call
    return reads, writes


def _independent(a: ast.stmt, b: ast.stmt) -> bool:
    simple = (ast.Assign, ast.AnnAssign, ast.AugAssign)
    if not (isinstance(a, simple) and isinstance(b, simple)):
        return False
    ra, wa = _reads_writes(a)
    rb, wb = _reads_writes(b)
    if "<call>" in wa and "<call>" in wb:
        return False
    return not (wa & rb or wb & ra or wa & wb)


def reorder_statements(source: str, rng: random.Random) -> str | None:
    """Up to three pairs of neighbouring assignments that do not depend on each other, swapped."""
    tree = ast.parse(source)
    pairs: list[tuple[ast.stmt, ast.stmt]] = []
    for node in ast.walk(tree):
        for attr in ("body", "orelse", "finalbody"):
            block = getattr(node, attr, None)
            if not isinstance(block, list):
                continue
            for first, second in itertools.pairwise(block):
                if isinstance(first, ast.stmt) and isinstance(second, ast.stmt) and _independent(first, second):
                    pairs.append((first, second))
    if not pairs:
        return None
    rng.shuffle(pairs)
    lines = source.splitlines(keepends=True)
    used: set[int] = set()
    chosen = []
    for first, second in pairs:
        span = set(range(first.lineno, (second.end_lineno or second.lineno) + 1))
        if span & used:
            continue
        used |= span
        chosen.append((first, second))
        if len(chosen) == 3:
            break
    for first, second in sorted(chosen, key=lambda pair: -pair[0].lineno):
        a = lines[first.lineno - 1 : (first.end_lineno or first.lineno)]
        b = lines[second.lineno - 1 : (second.end_lineno or second.lineno)]
        lines[first.lineno - 1 : (second.end_lineno or second.lineno)] = b + a
    return "".join(lines)


def combined(source: str, rng: random.Random) -> str | None:
    """Renamed, comments changed, then reformatted."""
    renamed = rename_identifiers(source, rng) or source
    return reformat_whitespace(change_comments(renamed, rng) or renamed, rng)


TRANSFORMS: dict[str, Transform] = {
    "verbatim": lambda source, rng: source,
    "renamed": rename_identifiers,
    "reformatted": reformat_whitespace,
    "ast.unparse layout": unparse_layout,
    "comments changed": change_comments,
    "reordered": reorder_statements,
    "renamed+comments+reformatted": combined,
}
