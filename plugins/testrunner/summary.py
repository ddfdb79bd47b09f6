"""Test results as the chat shows them."""

from __future__ import annotations

from app.api import TestRunResult


def summary_markdown(result: TestRunResult, limit: int = 10) -> str:
    """Counts, then the first failures with their location and first message line."""
    counts = result.report.counts
    total = sum(counts.values())
    parts = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "none ran"
    lines = [f"**Tests:** {total} — {parts} ({result.seconds:.1f} s, {result.python.source})"]
    for case in result.report.problems[:limit]:
        where = f"{case.file}:{case.line}" if case.line else case.file
        first = case.message.splitlines()[0] if case.message else ""
        lines.append(f"- `{case.nodeid}` ({where}) {first}".rstrip())
    if len(result.report.problems) > limit:
        lines.append(f"- … and {len(result.report.problems) - limit} more")
    if result.message:
        lines.append(f"\n{result.message}")
    if result.report.problems:
        lines.append("\nType `/fix` to ask the model to fix the first failure.")
    return "\n".join(lines)
