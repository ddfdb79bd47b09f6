"""Hunks: accepting all gives the proposal, none the original, any subset exactly its hunks."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.edits.diff import TextDiff

OLD = "".join(f"line {i}\n" for i in range(40))
NEW = OLD.replace("line 2\n", "LINE 2\n").replace("line 20\n", "").replace("line 39\n", "line 39\nadded\n")


def test_hunks_and_choices() -> None:
    diff = TextDiff(OLD, NEW)
    assert len(diff.hunks) == 3
    first, second, third = diff.hunks
    assert first.header == "@@ -1,6 +1,6 @@" and (first.added, first.removed) == (1, 1)
    assert [line.kind for line in second.lines].count("-") == 1 and second.added == 0
    assert third.lines[-1].kind == "+" and third.lines[-1].text == "added"
    assert diff.result({0, 1, 2}) == NEW and diff.result(set()) == OLD
    assert diff.result({1}) == OLD.replace("line 20\n", "")
    assert diff.result({0, 2}) == NEW.replace("line 19\nline 21\n", "line 19\nline 20\nline 21\n")


def test_line_numbers() -> None:
    diff = TextDiff(OLD, NEW)
    removed = next(line for line in diff.hunks[1].lines if line.kind == "-")
    assert removed.old_number == 21 and removed.new_number is None
    context = [line for line in diff.hunks[1].lines if line.kind == " "]
    assert all(line.old_number is not None and line.new_number is not None for line in context)
    assert context[-1].old_number == context[-1].new_number + 1  # type: ignore[operator]


def test_nearby_changes_share_a_hunk() -> None:
    near = OLD.replace("line 5\n", "five\n").replace("line 8\n", "eight\n")
    assert len(TextDiff(OLD, near).hunks) == 1
    apart = OLD.replace("line 5\n", "five\n").replace("line 9\n", "nine\n")
    first, second = TextDiff(OLD, apart).hunks  # separately acceptable, context lines shared
    assert [line.text for line in first.lines[-3:]] == [line.text for line in second.lines[:3]]
    assert second.header == "@@ -7,7 +7,7 @@"
    assert TextDiff(OLD, apart).result({1}) == OLD.replace("line 9\n", "nine\n")
    assert len(TextDiff(OLD, apart, join_gap=3).hunks) == 1


def test_new_file_and_unchanged() -> None:
    diff = TextDiff("", "a\nb\n")
    assert len(diff.hunks) == 1 and diff.result({0}) == "a\nb\n" and diff.result(()) == ""
    assert TextDiff(OLD, OLD).hunks == () and not TextDiff(OLD, OLD).changed


def test_missing_final_newline_is_exact() -> None:
    diff = TextDiff("a\nb\n", "a\nb")
    assert diff.result({0}) == "a\nb" and diff.result(()) == "a\nb\n"
    assert "--- a" in diff.unified()


TEXT = st.lists(st.sampled_from(["a\n", "b\n", "c\n", "d", "\n", "e\n"]), max_size=25).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_fuzz_every_subset_is_exact(old: str, new: str) -> None:
    diff = TextDiff(old, new, context=1, join_gap=0)
    indices = [hunk.index for hunk in diff.hunks]
    assert diff.result(indices) == new and diff.result(()) == old
    for size in range(1, min(len(indices), 3)):
        for chosen in itertools.combinations(indices, size):
            result = diff.result(chosen)
            # Accepting hunks one at a time adds up to the same text.
            partial = TextDiff(old, result, context=1, join_gap=0)
            assert partial.result([h.index for h in partial.hunks]) == result
