"""The FIM prompt (exact text, budgets, a start that stays put while typing) and suggestion tidying."""

from __future__ import annotations

import pytest

from app.core.completion.formats import NO_FIM, FimFormat, NotFimCapableError, choose_format, load_fim_formats
from app.core.completion.postprocess import accept_word, after_typing, tidy_suggestion
from app.core.completion.prompt import (
    MAX_PREFIX_LINES,
    CompletionInput,
    PromptBudget,
    RelatedFile,
    cut_window,
    fit_prompt,
)
from app.core.completion.related import build_request, cursor_offset


def qwen() -> FimFormat:
    return next(f for f in load_fim_formats() if f.name.startswith("Qwen"))


def chars(text: str) -> int:
    """A tokenizer stand-in: one token per character, so budgets are exact to reason about."""
    return len(text)


def test_exact_prompt_with_related_files() -> None:
    request = CompletionInput(
        prefix="def area(r):\n    return ",
        suffix="\n\nprint(area(2))\n",
        path="pkg/shapes.py",
        repo="demo",
        related=(RelatedFile("pkg/consts.py", "PI = 3.14159\n"), RelatedFile("README.md", "# Demo\n")),
    )
    prompt = fit_prompt(qwen(), request, chars, PromptBudget(total=1000, suffix=100, related=200))
    assert prompt.text == (
        "<|repo_name|>demo\n"
        "<|file_sep|>pkg/consts.py\nPI = 3.14159\n"
        "<|file_sep|>README.md\n# Demo\n"
        "<|file_sep|>pkg/shapes.py\n"
        "<|fim_prefix|>def area(r):\n    return <|fim_suffix|>\n\nprint(area(2))\n<|fim_middle|>"
    )
    assert prompt.related == ("pkg/consts.py", "README.md")
    # Markers are special tokens; the user's text never is.
    assert [text for text, special in prompt.parts if special] == [
        "<|repo_name|>", "<|file_sep|>", "<|file_sep|>", "<|file_sep|>", "<|fim_prefix|>", "<|fim_suffix|>",
        "<|fim_middle|>",
    ]  # fmt: skip


def test_exact_prompt_without_related_files_and_in_other_formats() -> None:
    request = CompletionInput(prefix="x = [", suffix="]\n", path="a.py")
    formats = {f.name: f for f in load_fim_formats()}
    budget = PromptBudget()
    assert fit_prompt(formats["Qwen2.5-Coder / Qwen3-Coder"], request, chars, budget).text == (
        "<|fim_prefix|>x = [<|fim_suffix|>]\n<|fim_middle|>"
    )
    assert fit_prompt(formats["Code Llama"], request, chars, budget).text == "<PRE> x = [ <SUF>]\n <MID>"
    assert fit_prompt(formats["DeepSeek-Coder"], request, chars, budget).text == (
        "<｜fim▁begin｜>x = [<｜fim▁hole｜>]\n<｜fim▁end｜>"
    )
    # A format without repository tokens ignores related files.
    with_related = CompletionInput("x = [", "]\n", "a.py", "", (RelatedFile("b.py", "y = 1"),))
    assert fit_prompt(formats["Code Llama"], with_related, chars, budget).text == "<PRE> x = [ <SUF>]\n <MID>"


def test_budget_keeps_the_end_of_the_prefix_and_the_start_of_the_suffix() -> None:
    prefix = "".join(f"line {i}\n" for i in range(200)) + "value = "
    suffix = "".join(f"after {i}\n" for i in range(50))
    prompt = fit_prompt(qwen(), CompletionInput(prefix, suffix), chars, PromptBudget(total=600, suffix=100))
    assert len(prompt.text) <= 600
    assert prompt.prefix.endswith("line 199\nvalue = ") and prefix.endswith(prompt.prefix)
    assert suffix.startswith(prompt.suffix) and 0 < len(prompt.suffix) <= 100
    # Lines are dropped in whole groups from the start.
    assert prompt.prefix.startswith("line ")


def test_related_files_beyond_their_share_are_left_out() -> None:
    related = tuple(RelatedFile(f"m{i}.py", "x" * 150) for i in range(5))
    prompt = fit_prompt(qwen(), CompletionInput("a", "b", "c.py", "r", related), chars, PromptBudget(related=400))
    assert prompt.related == ("m0.py", "m1.py")


def test_the_prompt_start_stays_put_while_typing() -> None:
    text = "".join(f"row_{i} = {i}\n" for i in range(2000))
    cursor = text.index("row_1500")
    starts = set()
    typed = ""
    for ch in "total = row_1 + row_2":
        typed += ch
        now = text[:cursor] + typed + text[cursor:]
        prefix, _suffix = cut_window(now, cursor + len(typed))
        assert prefix.endswith(typed)
        starts.add(now[: cursor + len(typed)].rfind(prefix))
    assert len(starts) == 1
    prefix, suffix = cut_window(text, cursor)
    assert prefix.count("\n") <= MAX_PREFIX_LINES and suffix.count("\n") == 64


def test_huge_inputs_are_cut_quickly() -> None:
    big = "".join(f"print({i})\n" for i in range(100_000))
    minified = "var a=1;" * 262_144  # a 2 MB line
    for text, cursor in ((big, len(big) // 2), (big, len(big)), (minified, len(minified) // 2), (minified, 0)):
        prefix, suffix = cut_window(text, cursor)  # a few bounded string searches, whatever the size
        assert len(prefix) <= 16_384 and len(suffix) <= 4_096
        assert text[cursor - len(prefix) : cursor + len(suffix)] == prefix + suffix
    # Inside the minified line the start moves on a 1 KiB grid, not with every keystroke.
    a, _ = cut_window(minified, 500_000)
    b, _ = cut_window(minified, 500_001)
    assert minified[:500_000].rfind(a) == minified[:500_001].rfind(b)
    prompt = fit_prompt(qwen(), CompletionInput(*cut_window(minified, 1_000_000)), chars, PromptBudget())
    assert len(prompt.text) <= 1024


def test_cursor_offset_and_request_building(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "consts.py").write_text("PI = 3.14159\n")
    (tmp_path / "blob.bin").write_bytes(b"\0\1\2" * 10)
    main = tmp_path / "pkg" / "main.py"
    text = "from pkg.consts import PI\nfrom . import missing\n\ndef area(r):\n    return \n"
    main.write_text(text)
    cursor = cursor_offset(text, 5, 12)
    assert text[:cursor].endswith("    return ")
    request = build_request(text, cursor, main, tmp_path, recent=[tmp_path / "blob.bin", main])
    assert [r.path for r in request.related] == ["pkg/consts.py"]
    assert request.path == "pkg/main.py" and request.repo == tmp_path.name
    assert cursor_offset(text, 99, 1) == len(text) and cursor_offset(text, 1, 999) == text.index("\n")


def test_tidy_stops_at_block_end_and_max_lines() -> None:
    prefix = "def f(x):\n    if x:\n        "
    raw = "return 1\n    return 2\ndef g():\n    pass"
    assert tidy_suggestion(raw, prefix, "\n").text == "return 1"
    lines = "\n".join(f"        a{i} = {i}" for i in range(20))
    tidied = tidy_suggestion("a = 0\n" + lines, prefix, "", max_lines=4)
    assert tidied.complete and tidied.text.count("\n") == 3


def test_tidy_never_duplicates_the_suffix() -> None:
    # The rest of the line is already there: the suggestion stops before it.
    assert tidy_suggestion("a, b)", "print(", ")").text == "a, b"
    assert tidy_suggestion('name"]', 'row["', '"]\n').text == "name"
    assert tidy_suggestion("total = 0\nreturn total", "    ", "\nreturn total\n").text == "total = 0"
    # Nothing after the cursor: the closing bracket is kept and the suggestion ends with its line.
    tidied = tidy_suggestion("a, b)\nprint(a)", "print(", "")
    assert tidied.text == "a, b)" and tidied.complete
    assert tidy_suggestion("   \n  ", "x = ", "").text == ""


def test_accept_word_and_typing_through() -> None:
    assert accept_word("total_sum + 1") == "total_sum"
    assert accept_word("  + 1") == "  +"
    assert accept_word("\n    return") == "\n"
    assert after_typing("total_sum + 1", "tot") == "al_sum + 1"
    assert after_typing("total_sum + 1", "x") is None


def test_choosing_a_format() -> None:
    formats = load_fim_formats()
    never = lambda _text: False  # noqa: E731
    qwen_markers = ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
    assert choose_format(formats, qwen_markers, never, "qwen2", "Qwen2.5 Coder 1.5B Instruct").name.startswith("Qwen")
    assert choose_format(formats, qwen_markers, never, "qwen3moe", "Qwen3-Coder-30B-A3B-Instruct").repo_name
    assert choose_format(formats, ("▁<PRE>", "▁<SUF>", "▁<MID>"), never, "llama", "CodeLlama 7B").name == "Code Llama"
    starcoder = choose_format(formats, None, lambda t: t.startswith("<fim_"), "starcoder2", "StarCoder2 3B")
    assert starcoder.name == "StarCoder2"
    with pytest.raises(NotFimCapableError, match="not trained"):
        choose_format(formats, qwen_markers, never, "qwen3", "Qwen3 8B")
    with pytest.raises(NotFimCapableError) as err:
        choose_format(formats, None, never, "qwen3", "Qwen3 8B")
    assert str(err.value) == NO_FIM
