"""A check report as Markdown for the chat (math stays LaTeX, the chat renders it) or as plain text."""

from __future__ import annotations

from app.core.mathcheck.report import BADGE_WORDS, MARK_SYMBOLS, MARK_WORDS, CheckReport
from app.core.symbolic.text import markdown_math, plain_text


def _one_line(text: str) -> str:
    return " ".join(text.split())


def report_markdown(report: CheckReport, title: str = "Checked by SymPy") -> str:
    """Each step with its mark (✓ verified, ✗ wrong, ? not checkable) and the answer's badge."""
    lines = [f"**{title}**", ""]
    for step in report.steps:
        symbol, word = MARK_SYMBOLS[step.mark], MARK_WORDS[step.mark]
        why = f" — {_one_line(step.reason)}" if step.reason else ""
        lines.append(f"{step.index}. **{symbol} {word}**: {_one_line(step.text)}{why}")
    if not report.steps:
        lines.append("No steps with mathematics were found.")
    answer = report.answer
    shown = f" {markdown_math(answer.answer)}" if answer.answer else ""
    why = f" — {_one_line(answer.reason)}" if answer.reason else ""
    lines += ["", f"> **{BADGE_WORDS[answer.badge]}**{shown}{why}"]
    verified, wrong, unchecked = report.count("verified"), report.count("wrong"), report.count("unchecked")
    follows = report.count("follows")
    after = f", {follows} resting on a wrong step" if follows else ""
    lines += ["", f"_{verified} verified, {wrong} wrong, {unchecked} not checkable{after}._"]
    return "\n".join(lines)


def report_text(report: CheckReport) -> str:
    """The report for a terminal: one line per step, then the answer."""
    lines = []
    for step in report.steps:
        why = f"  ({_one_line(step.reason)})" if step.reason else ""
        lines.append(
            f"{MARK_SYMBOLS[step.mark]} {step.index:>2} {MARK_WORDS[step.mark]:<13} {_one_line(step.text)}{why}"
        )
    answer = report.answer
    why = f" ({_one_line(answer.reason)})" if answer.reason else ""
    lines.append(f"Answer: {BADGE_WORDS[answer.badge]}: {plain_text(answer.answer)}{why}")
    return "\n".join(lines)
