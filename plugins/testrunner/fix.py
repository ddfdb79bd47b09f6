"""Fix with AI: the failing test, its traceback and the code under test go to the
model, which answers in the edit format; the answer becomes a reviewed proposal."""

from __future__ import annotations

import ast
import re
from functools import partial
from pathlib import Path

from app.api import (
    EDIT_RULES,
    AskOptions,
    CaseResult,
    ChatMessage,
    CommandResult,
    EditTarget,
    ModelTurn,
    PluginContext,
    build_edit_proposal,
    parse_edits,
)

SYSTEM = (
    "You are Quillpad, a careful programming assistant. A test fails; change the code under test "
    "(or the test, if the test itself is wrong) so that it passes. Change as little as possible."
)
MAX_FILE_CHARS = 12_000
# Project files named in a traceback: "path/to/file.py:12:" or 'File "path/to/file.py", line 12'.
_TRACE_FILE = re.compile(r'(?:File "([^"]+\.py)"|^([\w./-]+\.py):\d+)', re.MULTILINE)


def _imported_files(root: Path, test_file: str) -> list[str]:
    """Project modules the test file imports: the code under test, usually."""
    try:
        tree = ast.parse((root / test_file).read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return []
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    found = []
    for module in modules:
        base = Path(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py", Path("src") / base.with_suffix(".py")):
            if (root / candidate).is_file():
                found.append(candidate.as_posix())
                break
    return found


def files_in_trace(case: CaseResult, root: Path) -> list[str]:
    """Project-relative files of the failure: the test's file, what it imports, what the traceback names."""
    found: list[str] = []
    traced = [a or b for a, b in _TRACE_FILE.findall(case.details)]
    imported = _imported_files(root, case.file) if case.file else []
    for candidate in [case.file, *traced, *imported]:
        if not candidate:
            continue
        path = Path(candidate)
        full = path if path.is_absolute() else root / path
        try:
            relative = full.resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            continue  # outside the project (the standard library, site-packages)
        if relative not in found and (root / relative).is_file():
            found.append(relative)
    return found[:4]


def fix_messages(case: CaseResult, root: Path) -> tuple[ChatMessage, ...]:
    """What the model is shown for one failing test."""
    parts = [f"The test {case.nodeid} fails ({case.outcome}).\n", f"Failure:\n```text\n{case.details.strip()}\n```\n"]
    for relative in files_in_trace(case, root):
        text = (root / relative).read_text(encoding="utf-8", errors="replace")[:MAX_FILE_CHARS]
        parts.append(f"File {relative}:\n```python\n{text}\n```\n")
    parts.append("Fix the code so the test passes.")
    return (ChatMessage("system", f"{SYSTEM}\n\n{EDIT_RULES}"), ChatMessage("user", "\n".join(parts)))


def proposal_from_answer(context: PluginContext, root: Path, known: tuple[str, ...], answer: str) -> CommandResult:
    """The model's answer as a proposal for the diff preview (or why there is none)."""
    parsed = parse_edits(answer)
    if not parsed.blocks:
        return CommandResult(message="The model's answer held no edits to apply; try /fix again or fix it by hand.")
    target = EditTarget(context.current_document(), root, known)
    proposal = build_edit_proposal(parsed, target, context.editor)
    if proposal.empty:
        notes = " ".join(proposal.notes) or "No usable edits were found in the answer."
        return CommandResult(message=notes)
    return CommandResult(proposal=proposal)


def fix_turn(context: PluginContext, case: CaseResult, root: Path) -> CommandResult:
    """Ask the model to fix ``case``; its answer becomes a proposal to review."""
    known = tuple(files_in_trace(case, root))
    return CommandResult(
        ask=ModelTurn(
            fix_messages(case, root),
            AskOptions(),
            f"Fixing {case.nodeid}",
            partial(proposal_from_answer, context, root, known),
        )
    )
