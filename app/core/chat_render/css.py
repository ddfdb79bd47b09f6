"""The chat page's style sheet, light or dark.

Class names the renderer emits: ``code-block`` (``pending`` while streamed),
``code-toolbar``, ``code-language``, ``code-action``, ``highlight`` (Pygments
token classes inside), ``math`` / ``math-display``, ``math-error``,
``image-link``. The page around the messages (``resources/chat/page.html``)
uses ``msg`` (with ``user``, ``assistant``, ``notice``, ``streaming``,
``stopped``, ``incomplete``, ``error``), ``note``, ``plain``, ``attachment``, ``chips``/``chip``
and ``thinking`` (a ``<details>`` with a ``<summary>``); those are styled here
too.
"""

from __future__ import annotations

import functools

from pygments.formatters import HtmlFormatter

LIGHT_CODE_STYLE = "default"
DARK_CODE_STYLE = "github-dark"

_COLOURS = {
    False: {
        "fg": "#1f2328",
        "bg": "#ffffff",
        "muted": "#59636e",
        "border": "#d1d9e0",
        "link": "#0969da",
        "user-bg": "#f0f4f9",
        "toolbar-bg": "#eef1f4",
        "code-bg": "#f8f8f8",
        "inline-code-bg": "#eff1f3",
        "error": "#cf222e",
        "notice-bg": "#fff8c5",
    },
    True: {
        "fg": "#e6edf3",
        "bg": "#161b22",
        "muted": "#9198a1",
        "border": "#3d444d",
        "link": "#4493f8",
        "user-bg": "#1f2733",
        "toolbar-bg": "#21262d",
        "code-bg": "#0d1117",
        "inline-code-bg": "#2a313c",
        "error": "#f85149",
        "notice-bg": "#3b2e00",
    },
}

_LAYOUT = """
body { margin: 0; padding: 0.75em 1em; background: var(--bg); color: var(--fg);
  font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans", sans-serif; font-size: 14px; line-height: 1.5; }
a { color: var(--link); }
p, ul, ol, blockquote, table { margin: 0.5em 0; }
h1, h2, h3, h4, h5, h6 { margin: 0.8em 0 0.4em; line-height: 1.25; }
h1 { font-size: 1.4em; } h2 { font-size: 1.25em; } h3 { font-size: 1.1em; } h4, h5, h6 { font-size: 1em; }
blockquote { margin-left: 0; padding: 0 0.9em; color: var(--muted); border-left: 3px solid var(--border); }
hr { border: 0; border-top: 1px solid var(--border); }
table { border-collapse: collapse; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--border); padding: 0.25em 0.6em; }
th { background: var(--toolbar-bg); }
code { font-family: "JetBrains Mono", "Cascadia Code", "DejaVu Sans Mono", Consolas, monospace; font-size: 0.92em; }
:not(pre) > code { background: var(--inline-code-bg); border-radius: 4px; padding: 0.1em 0.3em; }
.msg { margin: 0.6em 0; padding: 0.1em 0.9em; border-radius: 8px; }
.msg.user { background: var(--user-bg); }
.msg.notice { background: var(--notice-bg); }
.msg .note { color: var(--muted); font-size: 0.85em; font-style: italic; margin: 0.2em 0; }
.msg .note:empty { display: none; }
.msg.error .note { color: var(--error); }
.plain { white-space: pre-wrap; overflow-wrap: anywhere; }
.attachment { margin: 0.4em 0; }
.chips { margin: 0.3em 0 0 0; }
.chip { display: inline-block; margin: 0 0.3em 0.2em 0; padding: 0 0.5em; border: 1px solid var(--muted);
  border-radius: 0.8em; color: var(--muted); font-size: 0.85em; }
.attachment > summary { cursor: pointer; color: var(--muted); }
.thinking { margin: 0.5em 0; padding: 0 0.9em; border-left: 3px solid var(--border); color: var(--muted);
  font-size: 0.95em; }
.thinking > summary { cursor: pointer; user-select: none; font-style: italic; padding: 0.2em 0; }
.code-block { margin: 0.6em 0; border: 1px solid var(--border); border-radius: 6px; overflow: hidden;
  background: var(--code-bg); }
.code-toolbar { display: flex; gap: 1em; align-items: baseline; padding: 0.2em 0.7em;
  background: var(--toolbar-bg); border-bottom: 1px solid var(--border); font-size: 0.85em; }
.code-language { margin-right: auto; color: var(--muted); }
.code-toolbar { flex-wrap: wrap; column-gap: 1em; row-gap: 0.1em; }
.code-action, .code-language { white-space: nowrap; }  /* a narrow chat wraps whole links, never "pyth/on" */
.code-action { color: var(--link); text-decoration: none; cursor: pointer; }
.code-action:hover { text-decoration: underline; }
.code-block.pending .code-toolbar { opacity: 0.7; }
.code-block pre { margin: 0; padding: 0.6em 0.8em; overflow-x: auto; line-height: 1.4; }
.code-block .highlight { background: transparent; }
math { font-family: "STIX Two Math", "Latin Modern Math", "Cambria Math", math; font-size: 1.1em; }
.math-display { display: block; margin: 0.5em 0; overflow-x: auto; overflow-y: hidden; }
.math-error { color: var(--error); background: var(--inline-code-bg); border-radius: 4px; padding: 0.1em 0.3em;
  white-space: pre-wrap; }
"""


def _variables(dark: bool) -> str:
    lines = "".join(f"  --{name}: {value};\n" for name, value in _COLOURS[dark].items())
    return f":root {{\n  color-scheme: {'dark' if dark else 'light'};\n{lines}}}\n"


def _token_colours(style: str) -> str:
    # Only the rules under .highlight: Pygments also styles bare ``pre`` and line numbers, not wanted here.
    formatter = HtmlFormatter(style=style)
    defs = str(formatter.get_style_defs(".highlight"))  # type: ignore[no-untyped-call]  # unannotated in types-Pygments
    return "\n".join(line for line in defs.splitlines() if line.startswith(".highlight ")) + "\n"


@functools.lru_cache(maxsize=2)
def chat_css(dark: bool) -> str:
    """The complete style sheet for the chat page: layout, code blocks and their Pygments colours, math."""
    return _variables(dark) + _LAYOUT + _token_colours(DARK_CODE_STYLE if dark else LIGHT_CODE_STYLE)
