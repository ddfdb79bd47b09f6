"""Commit messages written by the model from the staged diff.

The prompt asks for a short summary line and a body. A diff larger than the
room in the model's context is replaced by a per-file summary (each file's
counts and the start of its changes, shared fairly), and a notice says so.
The answer is cleaned: thinking removed, code fences and "Commit message:"
labels dropped, the summary line kept to 72 characters.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from app.core.edits.thinking import strip_thinking
from app.core.engine.events import AnswerText, Done, EngineError
from app.core.engine.model_client import AskOptions, ModelClient
from app.core.engine.options import ChatMessage
from app.core.errors import QuillpadError
from app.core.git.diff import count_changes, split_by_file

SUMMARY_LIMIT = 72
BODY_WIDTH = 72
# Characters of diff that fit when nothing else is known (about 3,000 tokens).
DEFAULT_DIFF_BUDGET = 10_000
MAX_ANSWER_TOKENS = 300

SYSTEM_PROMPT = (
    "You write git commit messages. Reply with the commit message only: first a summary line in the "
    "imperative mood, at most 72 characters, without a full stop; then a blank line; then a short body "
    "(a few lines) saying what changed and why. No code fences, no quotes, no headings."
)

_THINK_BLOCK = re.compile(r"<think>.*?</think>", re.DOTALL)
_FENCE = re.compile(r"^\s*(```|~~~)[\w-]*\s*$")
_LABEL = re.compile(r"^\s*(commit message|summary|subject|title)\s*:\s*", re.IGNORECASE)


class MessageError(QuillpadError):
    """The model could not write the message (its sentence says why)."""


@dataclass(frozen=True)
class MessagePrompt:
    """The messages to send, and a notice when the diff had to be summarised."""

    messages: tuple[ChatMessage, ...]
    summarised: bool
    notice: str | None


@dataclass(frozen=True)
class CommitMessage:
    """A proposed message: summary line, body, and a notice for the user (or None)."""

    summary: str
    body: str
    notice: str | None = None

    @property
    def text(self) -> str:
        return f"{self.summary}\n\n{self.body}\n" if self.body else f"{self.summary}\n"


def summarise_diff(diff: str, budget: int) -> str:
    """A per-file summary of ``diff`` within ``budget`` characters: counts, then each file's first changes."""
    parts = split_by_file(diff)
    lines = [f"{len(parts)} files changed:"]
    for path, part in parts:
        added, removed = count_changes(part)
        lines.append(f"- {path} (+{added} -{removed})")
    head = "\n".join(lines) + "\n\n"
    if len(head) >= budget:
        return head[: max(0, budget - 20)].rsplit("\n", 1)[0] + "\n- …\n"
    share = (budget - len(head)) // max(1, len(parts))
    excerpts = []
    for path, part in parts:
        changed = [ln for ln in part.splitlines() if ln[:1] in "+-@" and not ln.startswith(("+++", "---"))]
        excerpt = "\n".join(changed)
        if len(excerpt) > share:
            excerpt = excerpt[: max(0, share - len(path) - 30)].rsplit("\n", 1)[0] + "\n[…]"
        if share > len(path) + 40:
            excerpts.append(f"{path}:\n{excerpt}\n")
    return (head + "\n".join(excerpts))[:budget]


def build_prompt(diff: str, budget: int = DEFAULT_DIFF_BUDGET, files: list[str] | None = None) -> MessagePrompt:
    """The request for a commit message of ``diff``; summarised per file when longer than ``budget`` characters."""
    summarised = len(diff) > budget
    notice = None
    if summarised:
        body = summarise_diff(diff, budget)
        count = len(split_by_file(diff))
        notice = (
            f"The staged diff ({len(diff):,} characters, {count} files) is too large for the model's context, "
            "so the message was written from a per-file summary; check it before committing."
        )
        user = f"The staged changes are too large to show in full. A summary per file:\n\n{body}"
    else:
        user = f"The staged changes:\n\n```diff\n{diff.rstrip()}\n```"
    if files:
        user += "\n\nFiles: " + ", ".join(files)
    user += "\n\nWrite the commit message for these changes. /no_think"
    return MessagePrompt((ChatMessage("system", SYSTEM_PROMPT), ChatMessage("user", user)), summarised, notice)


def _fallback_summary(diff: str) -> str:
    paths = [path for path, _ in split_by_file(diff)]
    if not paths:
        return "Update files"
    names = ", ".join(p.rsplit("/", 1)[-1] for p in paths[:3])
    more = f" and {len(paths) - 3} more" if len(paths) > 3 else ""
    return f"Update {names}{more}"[:SUMMARY_LIMIT]


def clean_answer(answer: str, diff: str = "", notice: str | None = None) -> CommitMessage:
    """The commit message in a model's answer: thinking, fences and labels removed, summary within 72 characters.

    An answer with nothing left (the model only thought, or was cut off)
    gets a summary made from the file names, and a notice says so.
    """
    text = _THINK_BLOCK.sub("", strip_thinking(answer))
    if "<think>" in text:  # an unfinished block: nothing after it is the answer
        text = text.split("<think>", 1)[0]
    text = text.replace("</think>", "")
    lines = [ln.rstrip() for ln in text.splitlines() if not _FENCE.match(ln)]
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        extra = "The model gave no message, so a summary was made from the file names; edit it before committing."
        return CommitMessage(_fallback_summary(diff), "", f"{notice} {extra}" if notice else extra)
    summary = _LABEL.sub("", lines[0]).strip().strip("\"'`").strip()
    rest = lines[1:]
    if len(summary) > SUMMARY_LIMIT:
        cut = summary[:SUMMARY_LIMIT].rsplit(" ", 1)[0] if " " in summary[:SUMMARY_LIMIT] else summary[:SUMMARY_LIMIT]
        rest = [summary[len(cut) :].strip(), *rest]
        summary = cut.rstrip(" ,;:")
    summary = summary.rstrip(".") or _fallback_summary(diff)
    body_lines = [_LABEL.sub("", ln) if i == 0 else ln for i, ln in enumerate(rest)]
    body = "\n".join(body_lines).strip("\n")
    body = "\n\n".join(
        textwrap.fill(paragraph, BODY_WIDTH) if len(paragraph) > BODY_WIDTH and "\n" not in paragraph else paragraph
        for paragraph in body.split("\n\n")
    ).strip()
    body = re.sub(r"\n{3,}", "\n\n", body)
    return CommitMessage(summary, body, notice)


def propose_message(
    model: ModelClient, diff: str, options: AskOptions | None = None, budget: int = DEFAULT_DIFF_BUDGET
) -> CommitMessage:
    """Ask ``model`` for a message for ``diff`` (blocking: call off the GUI thread)."""
    prompt = build_prompt(diff, budget)
    answer = model.ask(prompt.messages, options or AskOptions(thinking=False, max_tokens=MAX_ANSWER_TOKENS))
    return clean_answer(answer, diff, prompt.notice)


def stream_message(
    model: ModelClient,
    diff: str,
    on_text: Callable[[str], None],
    options: AskOptions | None = None,
    budget: int = DEFAULT_DIFF_BUDGET,
) -> CommitMessage:
    """Like ``propose_message``, calling ``on_text(answer so far)`` as the model writes (thinking left out).

    Blocking: call off the GUI thread. A stopped reply gives the message as
    far as it got; a failed one raises ``MessageError`` with the engine's sentence.
    """
    prompt = build_prompt(diff, budget)
    answer: list[str] = []
    for event in model.stream(prompt.messages, options or AskOptions(thinking=False, max_tokens=MAX_ANSWER_TOKENS)):
        if isinstance(event, AnswerText):
            answer.append(event.text)
            on_text("".join(answer))
        elif isinstance(event, EngineError):
            raise MessageError(event.message)
        elif isinstance(event, Done):
            break
    return clean_answer("".join(answer), diff, prompt.notice)


def diff_budget(context_tokens: int | None, chars_per_token: float = 3.5, reserve_tokens: int = 768) -> int:
    """Characters of diff that fit a context of ``context_tokens``, leaving room for the prompt and the answer."""
    if not context_tokens:
        return DEFAULT_DIFF_BUDGET
    return max(1_000, int((context_tokens - reserve_tokens) * chars_per_token * 0.9))
