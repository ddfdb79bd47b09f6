"""How a sandbox run of a chat code block is shown (the run itself goes through ``app.ui.tasks``)."""

from __future__ import annotations

from app.core.sandbox.runner import SandboxResult


def result_markdown(result: SandboxResult) -> str:
    """How a run is shown in the chat: summary, output, notes."""
    fence = "````"
    lines = [
        f"**Ran in the sandbox** — {result.summary()} ({result.wall_seconds:.2f} s)",
        f"\n*{result.isolation_text}*",
    ]
    for title, text, cut in (
        ("Output", result.stdout, result.stdout_truncated),
        ("Errors", result.stderr, result.stderr_truncated),
    ):
        if text:
            note = " (cut: the program printed more)" if cut else ""
            lines.append(f"\n{title}{note}:\n{fence}text\n{text.rstrip()}\n{fence}")
    lines += [f"\n*{note}*" for note in result.notes]
    return "\n".join(lines)
