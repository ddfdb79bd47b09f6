"""The thinking splitter and stop strings, on any way of cutting the text."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.engine.streaming import StopStrings, ThinkSplitter


def split(pieces: list[str], start_in_thinking: bool = False) -> tuple[str, str]:
    splitter = ThinkSplitter(start_in_thinking=start_in_thinking)
    out = [part for piece in pieces for part in splitter.feed(piece)] + splitter.finish()
    thinking = "".join(text for channel, text in out if channel == "thinking")
    answer = "".join(text for channel, text in out if channel == "answer")
    return thinking, answer


def chunks(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


REPLY = "<think>\nLet me add 2 and 2.\nThat is 4.\n</think>\n\nThe answer is **4**."


def test_whole_reply() -> None:
    assert split([REPLY]) == ("Let me add 2 and 2.\nThat is 4.", "The answer is **4**.")


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=200), max_size=12))
def test_any_cutting_gives_the_same_split(cuts: list[int]) -> None:
    assert split(chunks(REPLY, cuts)) == split([REPLY])


def test_tags_split_one_character_at_a_time() -> None:
    assert split(list(REPLY)) == split([REPLY])


def test_template_opened_block_only_closes() -> None:
    text = "I should greet.\n</think>\n\nHello!"
    assert split([text], start_in_thinking=True) == ("I should greet.", "Hello!")


def test_empty_think_block_in_no_think_mode() -> None:
    assert split(["<think>\n\n</think>\n\n", "Just the answer."]) == ("", "Just the answer.")


def test_no_thinking_at_all() -> None:
    assert split(["Plain ", "answer"]) == ("", "Plain answer")


def test_think_tag_later_in_the_answer_is_text() -> None:
    text = "Use the `<think>` tag like this: <think>x</think>"
    assert split([text]) == ("", text)


def test_unclosed_thinking_is_flushed_as_thinking() -> None:
    assert split(["<think>still going  "]) == ("still going", "")


def test_partial_open_tag_that_is_not_a_tag() -> None:
    assert split(["<th", "ree> apples"]) == ("", "<three> apples")


@settings(max_examples=200)
@given(st.text(max_size=60), st.lists(st.integers(0, 80), max_size=8))
def test_splitter_never_loses_answer_text(text: str, cuts: list[int]) -> None:
    # Text without any tag comes out whole (modulo leading blank space).
    text = text.replace("<", "(")
    assert split(chunks(text, cuts)) == ("", text.strip() if not text.strip() else text.lstrip())


def test_stop_strings_cut_and_hold_back() -> None:
    stops = StopStrings(["\nUser:"])
    out = stops.feed("Hello there.\nUs") + stops.feed("er: next")
    assert out == "Hello there." and stops.stopped
    assert stops.feed("more") == ""


def test_stop_strings_release_false_alarms() -> None:
    stops = StopStrings(["\nUser:"])
    out = stops.feed("a\nUs") + stops.feed("ually fine") + stops.finish()
    assert out == "a\nUsually fine" and not stops.stopped
