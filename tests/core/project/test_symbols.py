"""Outlines: Python through ast, Markdown headings, the other languages through tree-sitter grammars."""

from __future__ import annotations

import pytest

from app.core.project.languages import fence_language, language_for
from app.core.project.symbols import Symbol, extract_symbols
from tests.fixtures.project_tree import SOURCES


def outline(path: str, text: str | None = None) -> list[tuple[int, str, str]]:
    symbols = extract_symbols(language_for(path), SOURCES[path] if text is None else text)
    return [(s.depth, s.kind, s.signature) for s in symbols]


def test_python_classes_methods_and_signatures() -> None:
    assert outline("app/engine.py") == [
        (0, "class", "class Engine"),
        (1, "method", "def __init__(self, path: str) -> None"),
        (1, "method", "def ready(self) -> bool"),
        (1, "method", "async def restart(self, *, force: bool=False) -> 'Engine'"),
        (0, "function", "def load_engine(path: str, retries: int=3) -> Engine"),
    ]
    ready = extract_symbols("python", SOURCES["app/engine.py"])[2]
    assert ready.start_line == 14  # the decorator's line: chunks keep it with the method


def test_python_that_does_not_parse_has_no_outline() -> None:
    assert extract_symbols("python", "def broken(:\n") == []
    assert extract_symbols("python", "x = (" * 5000) == []  # too deeply nested for the parser


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "web/app.js",
            [
                (0, "function", "export function render(view, model)"),
                (0, "class", "class Store"),
                (1, "method", "dispatch(action)"),
            ],
        ),
        (
            "web/types.ts",
            [(0, "interface", "export interface Props"), (0, "function", "export const greet = (p: Props): string =>")],
        ),
        ("cmd/main.go", [(0, "struct", "type Server struct"), (0, "method", "func (s *Server) Serve(port int) error")]),
        (
            "src/lib.rs",
            [(0, "struct", "pub struct Point"), (0, "impl", "impl Point"), (1, "method", "pub fn norm(&self) -> f64")],
        ),
        ("native/util.c", [(0, "function", "static int add(int a, int b)")]),
        ("native/shape.hpp", [(0, "class", "class Shape"), (1, "method", "double area() const")]),
        (
            "java/Main.java",
            [(0, "class", "public class Main"), (1, "method", "public static void main(String[] args)")],
        ),
        ("README.md", [(0, "section", "# Demo project"), (0, "section", "## Usage")]),
    ],
)
def test_other_languages(path: str, expected: list[tuple[int, str, str]]) -> None:
    assert outline(path) == expected


def test_tsx_and_broken_code_do_not_raise() -> None:
    assert outline("a.tsx", "export function App() { return <div/>; }\n") == [(0, "function", "export function App()")]
    assert isinstance(extract_symbols("rust", "fn (((( {{{{ \x00"), list)
    assert extract_symbols(None, "anything") == []


def test_languages_and_fences() -> None:
    assert [language_for(p) for p in ("a.PY", "b.h", "c.tsx", "d.txt", "Makefile")] == [
        "python",
        "cpp",
        "tsx",
        None,
        None,
    ]
    assert [fence_language(p) for p in ("a.py", "b.toml", "c.txt", "Makefile")] == ["python", "toml", "", ""]
    assert Symbol("a", "function", "def a()", 1, 2, 0).depth == 0
