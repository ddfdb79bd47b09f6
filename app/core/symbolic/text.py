"""LaTeX as text: ``\\boxed`` extraction, cleaning for the parser and a plain form for people (no SymPy)."""

from __future__ import annotations

import re

_BOXED = re.compile(r"\\(?:boxed|fbox)\s*")
_SPACES = re.compile(r"\\[,;:! ]|\\q?quad\b|~|\\displaystyle\b|\\limits\b|\\nolimits\b")
_SIZES = re.compile(r"\\left\b|\\right\b|\\[bB]ig+[lr]?\b")


def find_boxed(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{…}`` (or ``\\fbox{…}``) as (start, end, content), braces balanced."""
    found = []
    for match in _BOXED.finditer(text):
        if match.end() >= len(text) or text[match.end()] != "{":
            continue
        depth, i = 1, match.end() + 1
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append((match.start(), i, text[match.end() + 1 : i - 1]))
    return found


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{…}`` (or ``\\boxed 5``), stripped; ``None`` when there is none."""
    found: str | None = None
    braced = {start: content for start, _, content in find_boxed(text)}
    for match in _BOXED.finditer(text):
        if match.start() in braced:
            found = braced[match.start()].strip()
        elif match.end() < len(text) and text[match.end()] != "{":
            word = re.match(r"[^\s$]+", text[match.end() :])
            if word:
                found = word.group(0)
    return found


def balanced(text: str) -> bool:
    """Whether every ``{`` has its ``}`` (escaped braces ``\\{ \\}`` aside)."""
    depth = 0
    for ch in re.sub(r"\\[{}]", "", text):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def nesting(text: str) -> int:
    """The deepest nesting of braces and brackets."""
    depth = deepest = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "})]":
            depth -= 1
    return deepest


def clean_latex(text: str) -> str:
    """Spacing, sizing (``\\left``, ``\\Big``), ``\\dfrac`` and thousands separators normalised for the parser."""
    text = text.replace(r"\dfrac", r"\frac").replace(r"\tfrac", r"\frac")
    text = _SIZES.sub("", text)
    text = _SPACES.sub(" ", text)
    text = text.replace("{,}", "").replace(r"\lvert", "|").replace(r"\rvert", "|")
    text = text.replace(r"\vert", "|").replace(r"\mid", "|")
    return text.strip().rstrip(".,;")


_PLAIN = [
    (re.compile(r"\\text\{\s*([^{}]*?)\s*\}"), r" \1 "),
    (re.compile(r"\\(?:mathrm|textrm|mbox|operatorname)\{([^{}]*)\}"), r"\1"),
    (re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}"), r"(\1)/(\2)"),
    (re.compile(r"\\sqrt\{([^{}]*)\}"), r"√(\1)"),
    (re.compile(r"\\left\b|\\right\b|\\[bB]ig+[lr]?\b"), ""),
    (re.compile(r"\\[,;:! ]|\\q?quad\b|~"), " "),
]
_SYMBOLS = {
    r"\pm": "±",
    r"\mp": "∓",
    r"\cdot": "·",
    r"\times": "×",
    r"\div": "÷",
    r"\infty": "∞",
    r"\leq": "≤",
    r"\geq": "≥",
    r"\le": "≤",
    r"\ge": "≥",
    r"\neq": "≠",
    r"\approx": "≈",
    r"\cup": "∪",
    r"\in": "∈",
    r"\pi": "π",
    r"\therefore": "∴",
    r"\implies": "⟹",
    r"\Rightarrow": "⇒",
    r"\$": "$",
    r"\%": "%",
}


def plain_text(latex: str) -> str:
    """A readable one-line form of a LaTeX snippet for a terminal: ``\\text{ or }`` becomes "or", and so on."""
    text = latex.replace(r"\{", "\x01").replace(r"\}", "\x02")
    for _ in range(4):  # nested \frac and \sqrt unwrap from the inside out
        for pattern, repl in _PLAIN:
            text = pattern.sub(repl, text)
    for command, symbol in sorted(_SYMBOLS.items(), key=lambda item: -len(item[0])):
        text = re.sub(re.escape(command) + r"(?![A-Za-z])", symbol, text)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")
    text = text.replace("\x01", "{").replace("\x02", "}").replace("\\", "")
    return " ".join(text.split())


def markdown_math(latex: str) -> str:
    """A LaTeX answer as Markdown: ``x = 2 \\text{ or } x = 3`` becomes ``$x = 2$ or $x = 3$``."""
    parts = re.split(r"\\text\{([^{}]*)\}", latex)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part.strip())
        elif part.strip(" ,"):
            out.append(f"${part.strip()}$")
    return " ".join(out)
