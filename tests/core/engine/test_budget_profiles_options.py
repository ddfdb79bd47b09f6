"""Context budgeting, family profiles and option validation."""

from __future__ import annotations

import itertools
import zlib
from importlib import resources
from pathlib import Path

import pytest

from app.core.engine.budget import LOW_WATER, ContextOverflowError, FittedPrompt, fit_to_context
from app.core.engine.options import ChatMessage, ChatRequest, InvalidOptionError, LoadOptions, SamplingOverrides
from app.core.engine.profiles import load_profiles, profile_for
from app.core.engine.prompt import PromptBuilder

PROFILE = profile_for("qwen3")


def words(text: str) -> list[int]:
    return list(range(len(text.split())))


def convo(turns: int, size: int = 10) -> tuple[ChatMessage, ...]:
    messages = [ChatMessage("system", "sys")]
    for i in range(turns):
        messages.append(ChatMessage("user", f"u{i} " + "w " * size))
        messages.append(ChatMessage("assistant", f"a{i} " + "w " * size))
    messages.append(ChatMessage("user", "newest"))
    return tuple(messages)


def fit(messages: tuple[ChatMessage, ...], ctx: int, max_tokens: int | None = 10):  # type: ignore[no-untyped-def]
    builder = PromptBuilder(None, PROFILE)
    return fit_to_context(messages, lambda m: builder.build(m, True), words, ctx, max_tokens)


def test_fits_without_dropping() -> None:
    fitted = fit(convo(2), ctx=200)
    assert fitted.dropped_turns == 0 and "u0" in fitted.prompt.text


def test_drops_oldest_turns_but_keeps_system_and_newest() -> None:
    fitted = fit(convo(5), ctx=60)
    assert fitted.dropped_turns > 0
    assert "System: sys" in fitted.prompt.text and "User: newest" in fitted.prompt.text
    assert "u0" not in fitted.prompt.text and "u4" in fitted.prompt.text
    assert len(words(fitted.prompt.text)) + fitted.answer_reserve <= 60


def distinct_words(text: str) -> list[int]:
    """A tokenizer whose ids depend on the words, so prompts share a prefix only where their text does."""
    return [zlib.crc32(word.encode()) for word in text.split()]


def fit_holding(messages: tuple[ChatMessage, ...], ctx: int, held: list[int]) -> FittedPrompt:
    """Fit as the engine does, the model holding ``held`` (its KV cache or a saved state)."""
    builder = PromptBuilder(None, PROFILE)

    def reuse(tokens: list[int]) -> int:
        return sum(1 for _ in itertools.takewhile(lambda pair: pair[0] == pair[1], zip(tokens, held, strict=False)))

    return fit_to_context(messages, lambda m: builder.build(m, False), distinct_words, ctx, 10, reuse)


def test_a_full_chat_is_cut_deep_once_and_the_next_replies_extend_that_prompt() -> None:
    ctx = 300
    messages = convo(12)  # ~280 words of history: does not fit beside the answer's room
    first = fit_holding(messages, ctx, held=[])
    room = ctx - first.answer_reserve
    assert first.dropped_turns > 0 and len(first.tokens) <= LOW_WATER * room
    builder = PromptBuilder(None, PROFILE)
    minimal = fit_to_context(messages, lambda m: builder.build(m, False), distinct_words, ctx, 10)
    assert minimal.dropped_turns < first.dropped_turns  # without knowing the cache: just enough

    held = first.tokens + distinct_words("a reply of a few words")  # what the model holds after answering
    kept = cuts = 0
    for turn in range(12):
        messages = (
            *messages,
            ChatMessage("assistant", "a reply of a few words"),
            ChatMessage("user", f"question {turn} " + "w " * 10),
        )
        fitted = fit_holding(messages, ctx, held)
        if len(fitted.tokens) > len(held) // 2 and fitted.tokens[: len(first.tokens)] == first.tokens:
            # The same cut as before: everything but the new turn is already evaluated.
            assert fitted.dropped_turns == first.dropped_turns
            kept += 1
        else:
            # The context filled up again: a new deep cut, evaluated once.
            assert fitted.dropped_turns > first.dropped_turns
            assert len(fitted.tokens) <= LOW_WATER * room
            first = fitted
            cuts += 1
        held = fitted.tokens + distinct_words("a reply of a few words")
    assert kept >= 8 and cuts == 1  # 12 turns: one new cut, every other reply evaluates only its turn


def test_a_cut_the_model_already_holds_is_kept_even_above_the_low_water_mark() -> None:
    ctx = 300
    messages = convo(12)
    builder = PromptBuilder(None, PROFILE)
    minimal = fit_to_context(messages, lambda m: builder.build(m, False), distinct_words, ctx, 10)
    held = minimal.tokens  # e.g. a saved state of a chat cut by an older version
    fitted = fit_holding(messages, ctx, held)
    assert fitted.dropped_turns == minimal.dropped_turns and fitted.tokens == minimal.tokens


def test_single_message_too_long_is_refused() -> None:
    with pytest.raises(ContextOverflowError, match="shorten it"):
        fit((ChatMessage("user", "w " * 500),), ctx=100)


def test_profiles_are_data_and_qwen_is_never_greedy() -> None:
    names = [p.name for p in load_profiles()]
    assert names[-1] == "Generic" and "Qwen3" in names
    qwen = profile_for("qwen3moe")
    assert qwen.name == "Qwen3"
    assert (qwen.thinking.temperature, qwen.thinking.top_p, qwen.thinking.top_k, qwen.thinking.min_p) == (
        0.6,
        0.95,
        20,
        0,
    )
    assert (qwen.non_thinking.temperature, qwen.non_thinking.top_p) == (0.7, 0.8)
    assert qwen.thinking.presence_penalty == 0
    for profile in load_profiles():
        assert profile.thinking.temperature > 0 and profile.non_thinking.temperature > 0


def test_profile_matches_on_name_too() -> None:
    assert profile_for("llama", "Qwen3-Coder distilled").name == "Qwen3"
    assert profile_for("llama", "Llama 3.1").name == "Generic"


def test_overrides_apply() -> None:
    preset = PROFILE.sampling(True, SamplingOverrides(temperature=0.2, presence_penalty=1.5))
    assert preset.temperature == 0.2 and preset.presence_penalty == 1.5 and preset.top_k == 20


@pytest.mark.parametrize(
    ("options", "words_"),
    [
        (LoadOptions(context_length=0), "positive"),
        (LoadOptions(context_length=-5), "positive"),
        (LoadOptions(threads=0), "at least 1"),
        (LoadOptions(gpu_layers=-2), "GPU layers"),
        (LoadOptions(batch_size=0), "Batch size"),
    ],
)
def test_bad_load_options(options: LoadOptions, words_: str) -> None:
    with pytest.raises(InvalidOptionError, match=words_):
        options.validate()


@pytest.mark.parametrize(
    ("request_", "words_"),
    [
        (ChatRequest(()), "no messages"),
        (ChatRequest((ChatMessage("assistant", "hi"),)), "user's"),
        (ChatRequest((ChatMessage("user", "hi"),), max_tokens=0), "at least 1"),
        (ChatRequest((ChatMessage("user", "hi"),), seed=-7), "Seed"),
        (ChatRequest((ChatMessage("user", "hi"),), sampling=SamplingOverrides(temperature=-1)), "temperature"),
        (ChatRequest((ChatMessage("user", "hi"),), sampling=SamplingOverrides(presence_penalty=3)), "presence"),
        (ChatRequest((ChatMessage("user", "hi"),), sampling=SamplingOverrides(top_k=-1)), "top_k"),
    ],
)
def test_bad_requests(request_: ChatRequest, words_: str) -> None:
    with pytest.raises(InvalidOptionError, match=words_):
        request_.validate()


def test_user_profile_overrides_only_what_it_sets(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text('name = "Qwen3"\n[sampling.thinking]\ntemperature = 0.3\n')
    (tmp_path / "new.toml").write_text(
        (resources.files("models") / "profiles" / "generic.toml")
        .read_text()
        .replace('name = "Generic"', 'name = "Phi"')
        .replace("match_architectures = []", 'match_architectures = ["phi3"]')
    )
    (tmp_path / "broken.toml").write_text("this is [not toml")
    qwen = profile_for("qwen3", user_dir=tmp_path)
    assert qwen.thinking.temperature == 0.3 and qwen.thinking.top_k == 20  # the rest is bundled
    assert profile_for("phi3", user_dir=tmp_path).name == "Phi"
    assert profile_for("qwen3").thinking.temperature == 0.6  # bundled data untouched
