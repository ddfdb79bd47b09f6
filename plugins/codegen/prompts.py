"""The code-generation plugin's prompts, written for small local models:
short rules, one worked example, the format shown rather than described."""

from __future__ import annotations

from app.api import EDIT_RULES, ChatMessage
from plugins.codegen.source import CURSOR_MARK, Snapshot, excerpt, fence

SYSTEM = "You are Quillpad, a careful programming assistant inside the user's code editor. Be precise and brief."

EXAMPLE_REQUEST = """File greet.py:
```python
def greet(name):
    print("Hello " + name)
```

Instruction: use an f-string"""

EXAMPLE_REPLY = """greet.py
```python
<<<<<<< SEARCH
    print("Hello " + name)
=======
    print(f"Hello {name}")
>>>>>>> REPLACE
```"""

GEN_RULES = (
    f"Write the code that belongs where {CURSOR_MARK} is in the file. Reply with exactly one fenced code block "
    "containing only the new code, matching the file's style and indentation. Do not repeat code that is already "
    "in the file."
)

EXPLAIN_RULES = (
    "Explain the code for a programmer: what it does, how it does it, and anything surprising or risky. "
    "Be concrete and brief."
)

CODE_MODE = (
    "When you write code, put it in fenced code blocks with the language named. "
    "When you change an existing file, prefer SEARCH/REPLACE blocks under the file's path."
)


def _project_part(project_context: str) -> str:
    return f"Project context:\n{project_context}\n\n" if project_context.strip() else ""


def edit_messages(
    snapshot: Snapshot, instruction: str, project_context: str, max_chars: int, whole_file: bool
) -> tuple[ChatMessage, ...]:
    """Messages asking for search/replace edits of the selection or the file."""
    selection = snapshot.selection
    file_text = excerpt(snapshot.text, selection.start, selection.end, max_chars)
    parts = [_project_part(project_context), f"File {snapshot.label}:\n{fence(file_text, snapshot.language)}\n"]
    if not whole_file and not selection.empty:
        first, last = snapshot.line_of(selection.start), snapshot.line_of(max(selection.start, selection.end - 1))
        parts.append(f"\nChange only the selected lines {first}–{last}:\n{fence(selection.text, snapshot.language)}\n")
    parts.append(f"\nInstruction: {instruction}")
    return (
        ChatMessage("system", f"{SYSTEM}\n\n{EDIT_RULES}"),
        ChatMessage("user", EXAMPLE_REQUEST),
        ChatMessage("assistant", EXAMPLE_REPLY),
        ChatMessage("user", "".join(parts)),
    )


def gen_messages(snapshot: Snapshot, instruction: str, project_context: str, max_chars: int) -> tuple[ChatMessage, ...]:
    """Messages asking for code to insert at the cursor."""
    marked = snapshot.text[: snapshot.cursor] + CURSOR_MARK + snapshot.text[snapshot.cursor :]
    cursor = snapshot.cursor
    file_text = excerpt(marked, cursor, cursor + len(CURSOR_MARK), max_chars)
    user = (
        f"{_project_part(project_context)}File {snapshot.label}:\n{fence(file_text, snapshot.language)}\n\n"
        f"Write at {CURSOR_MARK}: {instruction}"
    )
    return (ChatMessage("system", f"{SYSTEM}\n\n{GEN_RULES}"), ChatMessage("user", user))


def explain_messages(
    snapshot: Snapshot, question: str, project_context: str, max_chars: int
) -> tuple[ChatMessage, ...]:
    """Messages asking to explain the selection (or the whole file)."""
    selection = snapshot.selection
    if selection.empty:
        subject = f"File {snapshot.label}:\n{fence(excerpt(snapshot.text, 0, 0, max_chars), snapshot.language)}"
    else:
        first, last = snapshot.line_of(selection.start), snapshot.line_of(max(selection.start, selection.end - 1))
        context = excerpt(snapshot.text, selection.start, selection.end, max_chars // 2)
        subject = (
            f"File {snapshot.label}:\n{fence(context, snapshot.language)}\n\n"
            f"Explain lines {first}–{last}:\n{fence(selection.text, snapshot.language)}"
        )
    ask = f"\n\nIn particular: {question}" if question else ""
    return (
        ChatMessage("system", f"{SYSTEM}\n\n{EXPLAIN_RULES}"),
        ChatMessage("user", f"{_project_part(project_context)}{subject}{ask}"),
    )
