"""Removing a model's thinking from text that becomes code or an edit.

The engine already routes a reply's leading think block to its own channel,
so answers normally arrive without it. This is the second line of defence
for text from elsewhere (a client without the splitter, a pasted reply): it
removes only thinking at the *start* of the text, because ``<think>`` later on
may well be part of the code being edited (this project's own sources contain
it), and cutting there would corrupt the edit.
"""

from __future__ import annotations

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
# An orphan closing tag means the template opened the block; everything before
# it is thinking, unless code or an edit already started there.
_CODE_SIGNS = ("```", "~~~", "<<<<<<<", ">>>>>>>")


def strip_thinking(text: str) -> str:
    """``text`` without a leading think block (an unfinished one removes everything)."""
    stripped = text.lstrip()
    if stripped.startswith(OPEN_TAG):
        end = stripped.find(CLOSE_TAG, len(OPEN_TAG))
        if end < 0:
            return ""  # cut off while thinking: there is no answer yet
        return stripped[end + len(CLOSE_TAG) :].lstrip()
    close = text.find(CLOSE_TAG)
    if close >= 0:
        before = text[:close]
        if OPEN_TAG not in before and not any(sign in before for sign in _CODE_SIGNS):
            return text[close + len(CLOSE_TAG) :].lstrip()
    return text
