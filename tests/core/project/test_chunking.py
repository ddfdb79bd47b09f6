"""Chunks follow definitions where there is an outline, else overlapping windows, and always tile the file."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.project.chunking import MAX_CHARS, WINDOW_LINES, chunk_lines, rebuild_text, split_lines
from app.core.project.symbols import extract_symbols


def chunks_of(text: str, language: str | None = None) -> list[tuple[int, int, str]]:
    chunks = chunk_lines(split_lines(text), extract_symbols(language, text))
    return [(c.start_line, c.end_line, c.text) for c in chunks]


def python_module(functions: int, body_lines: int = 3) -> str:
    parts = ["import os", ""]
    for i in range(functions):
        parts += ["", f"# helper number {i}", f"def function_{i}(x):"] + [f"    x += {j}" for j in range(body_lines)]
        parts += ["    return x"]
    return "\n".join(parts) + "\n"


def test_python_chunks_start_at_definitions_with_their_comments() -> None:
    text = python_module(6, body_lines=12)
    pieces = chunks_of(text, "python")
    lines = text.split("\n")
    for start, _, _ in pieces[1:]:
        assert lines[start - 1].startswith(("# helper number", "def ")), lines[start - 1]
    assert rebuild_text(pieces) == text


def test_small_definitions_are_merged_and_big_classes_cut_at_methods() -> None:
    small = chunks_of(python_module(10, body_lines=1), "python")
    assert len(small) < 10
    methods = "\n".join(f"    def m{i}(self):\n" + "\n".join(f"        a = {j}" for j in range(15)) for i in range(12))
    text = f"class Big:\n{methods}\n"
    pieces = chunks_of(text, "python")
    lines = text.split("\n")
    assert len(pieces) > 1
    for start, end, _ in pieces:
        assert end - start + 1 <= 80
        assert start == 1 or lines[start - 1].startswith("    def m")
    assert rebuild_text(pieces) == text


def test_files_without_an_outline_get_overlapping_windows() -> None:
    text = "\n".join(f"line {i}" for i in range(1, 131)) + "\n"
    pieces = chunks_of(text)
    assert [(s, e) for s, e, _ in pieces] == [(1, 50), (41, 90), (81, 130), (121, 131)]
    assert all(e - s + 1 <= WINDOW_LINES for s, e, _ in pieces)
    assert rebuild_text(pieces) == text


def test_very_long_lines_are_cut_by_size() -> None:
    text = "\n".join("x" * 2000 for _ in range(10))
    pieces = chunks_of(text)
    assert len(pieces) > 2 and all(len(t) <= MAX_CHARS or s == e for s, e, t in pieces)
    assert rebuild_text(pieces) == text


def test_markdown_follows_headings_and_empty_files_have_no_chunks() -> None:
    text = "# A\n" + "a\n" * 50 + "## B\n" + "b\n" * 50
    pieces = chunks_of(text, "markdown")
    assert any(t.startswith("## B") for _, _, t in pieces)
    assert rebuild_text(pieces) == text
    assert chunks_of("") == []


def test_a_syntax_error_falls_back_to_windows() -> None:
    text = "def broken(:\n" + "x = 1\n" * 70
    assert [(s, e) for s, e, _ in chunks_of(text, "python")] == [(1, 50), (41, 72)]  # 72: the empty last line


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet=st.characters(blacklist_characters="\r"), max_size=120), max_size=300),
    st.sampled_from([None, "python", "markdown", "javascript"]),
)
def test_chunks_always_tile_the_file(lines: list[str], language: str | None) -> None:
    text = "\n".join(lines)
    pieces = chunks_of(text, language)
    assert rebuild_text(pieces) == (text if pieces else "")
    covered = set()
    for start, end, piece in pieces:
        assert piece == "\n".join(text.split("\n")[start - 1 : end])
        covered.update(range(start, end + 1))
    assert covered == (set(range(1, len(text.split("\n")) + 1)) if pieces else set())
