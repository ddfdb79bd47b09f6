"""Pulling the final answer or the code out of a model's reply.

Answers come from the last ``\\boxed{}`` (braces balanced), then from
GSM8K's ``#### N``, then from the last number in the text. Code comes from
the fenced Python blocks of the reply, else from the reply itself. Thinking is
removed before any of this (``strip_thinking``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.edits.thinking import strip_thinking
from app.core.symbolic.text import last_boxed

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?|-?\.\d+")
_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+.-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.S | re.M)
_UNCLOSED_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+.-]*)[^\n]*\n(.*)\Z", re.S | re.M)


@dataclass(frozen=True)
class Extracted:
    """What was taken from a reply and how (``method`` is empty when nothing was found)."""

    value: str | None
    method: str  # "boxed", "####", "last number", "code block", "whole reply", ""


def split_thinking(reply: str, thinking: str = "") -> tuple[str, str]:
    """The answer without a leading think block, and all the thinking text."""
    answer = strip_thinking(reply)
    inline = reply[: len(reply) - len(answer)] if answer != reply else ""
    return answer, thinking + inline


def extract_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}`` (or ``\\boxed 5``), or ``None`` (the shared reader's extraction)."""
    return last_boxed(text)


def extract_hash_answer(text: str) -> str | None:
    """The answer after GSM8K's last ``####`` marker, commas and units stripped."""
    if "####" not in text:
        return None
    tail = text.rsplit("####", 1)[1].strip().splitlines()
    if not tail:
        return None
    number = _NUMBER.search(tail[0])
    return _clean_number(number.group(0)) if number else (tail[0].strip() or None)


def extract_last_number(text: str) -> str | None:
    """The last number written in ``text`` (``1,234.5`` becomes ``1234.5``), or ``None``."""
    numbers = _NUMBER.findall(text)
    return _clean_number(numbers[-1]) if numbers else None


def _clean_number(number: str) -> str:
    cleaned = number.replace(",", "")
    if "." in cleaned and "/" not in cleaned:
        cleaned = cleaned.rstrip("0").rstrip(".") if re.fullmatch(r"-?\d*\.\d+", cleaned) else cleaned
    return cleaned or number


def extract_answer(reply: str) -> Extracted:
    """The final answer of a math reply: boxed, then ``####``, then the last number."""
    boxed = extract_boxed(reply)
    if boxed is not None:
        return Extracted(boxed, "boxed")
    hashed = extract_hash_answer(reply)
    if hashed is not None:
        return Extracted(hashed, "####")
    last = extract_last_number(reply)
    if last is not None:
        return Extracted(last, "last number")
    return Extracted(None, "")


def extract_code(reply: str) -> Extracted:
    """The Python code of a reply: its fenced blocks (Python ones preferred), else the reply.

    Several Python blocks are joined in order (a model often puts helpers and
    the function in separate blocks); an unclosed last fence (a reply cut off
    at the token limit) still counts.
    """
    blocks = [(lang.lower(), body) for _, lang, body in _FENCE.findall(reply)]
    if not blocks:
        unclosed = _UNCLOSED_FENCE.search(reply)
        if unclosed:
            blocks = [(unclosed.group(2).lower(), unclosed.group(3))]
    python = [body for lang, body in blocks if lang in ("python", "py", "python3")]
    chosen = python or [body for lang, body in blocks if lang == ""]
    if chosen:
        return Extracted("\n\n".join(body.rstrip() for body in chosen) + "\n", "code block")
    if not reply.strip():
        return Extracted(None, "")
    return Extracted(reply, "whole reply")
