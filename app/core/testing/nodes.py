"""Finding the test under the cursor: file and line to a pytest node id."""

from __future__ import annotations

import ast
from pathlib import Path


def node_at_line(root: str | Path, file: str | Path, line: int) -> str | None:
    """The node id of the test function (or class) enclosing ``line``, if any."""
    path = Path(file)
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError):
        return None
    try:
        relative = path.resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        relative = path.as_posix()
    best: list[str] = []

    def visit(nodes: list[ast.stmt], trail: list[str]) -> None:
        nonlocal best
        for node in nodes:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            end = node.end_lineno or node.lineno
            if not node.lineno <= line <= end:
                continue
            if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                best = [*trail, node.name]
                visit(node.body, [*trail, node.name])
            elif node.name.startswith("test"):
                best = [*trail, node.name]

    visit(tree.body, [])
    return "::".join([relative, *best]) if best else None
