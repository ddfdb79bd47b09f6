"""The completion engine with real tiny Qwen2.5-Coder-shaped models in its own worker process."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.completion.engine import CompletionEngine, CompletionUnavailable
from app.core.completion.formats import NO_FIM
from app.core.completion.messages import CompletionLimits
from app.core.completion.prompt import CompletionInput, PromptBudget, RelatedFile
from app.core.completion.related import build_request
from tests.fixtures.tiny_gguf import CODER_NO_FIM, CODER_NO_FIM_METADATA, QWEN_NOT_CODER, CoderSpec, write_coder_model

SOURCE = "".join(f"def handler_{i}(event):\n    return event.get({i!r})\n\n" for i in range(60))
# Wide enough that a long prompt takes a while on one thread: for cancelling mid-prompt.
SLOW_CODER = CoderSpec(name="Slow Qwen2.5-Coder", n_embd=512, n_head=8, n_head_kv=4, n_layer=8, n_ff=1536)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[CompletionEngine]:
    with CompletionEngine(tmp_path / "completion.log") as running:
        yield running


def loaded(engine: CompletionEngine, model: Path) -> CompletionEngine:
    assert engine.load(model, threads=1) == "Qwen2.5-Coder / Qwen3-Coder"
    return engine


def test_render_is_the_exact_prompt(engine: CompletionEngine, coder_gguf: Path) -> None:
    loaded(engine, coder_gguf)
    request = CompletionInput(
        "import math\n\ndef area(r):\n    return ", "\n", "geo.py", "demo", (RelatedFile("util.py", "TAU = 6.28"),)
    )
    rendered = engine.render(request)
    assert rendered.text == (
        "<|repo_name|>demo\n<|file_sep|>util.py\nTAU = 6.28\n<|file_sep|>geo.py\n"
        "<|fim_prefix|>import math\n\ndef area(r):\n    return <|fim_suffix|>\n<|fim_middle|>"
    )
    assert rendered.related == ("util.py",)
    # The markers are single special tokens; the same text inside the user's code is not.
    sneaky = engine.render(CompletionInput("x = '<|fim_middle|>'", ""))
    plain = engine.render(CompletionInput("x = '<|fim_midxle|>'", ""))
    assert sneaky.tokens == plain.tokens


def test_suggestions_stream_and_the_cache_is_reused(engine: CompletionEngine, coder_gguf: Path) -> None:
    loaded(engine, coder_gguf)
    cursor = SOURCE.index("def handler_12")  # the whole prefix fits the budget
    seen: list[str] = []
    first = engine.complete(
        build_request(SOURCE, cursor), CompletionLimits(max_tokens=16), on_text=lambda _i, t: seen.append(t)
    )
    assert first.reason == "done"
    assert first.stats.prompt_tokens_reused == 0
    assert first.stats.prompt_tokens_evaluated == first.stats.prompt_tokens > 200
    if first.text:
        assert seen[-1] == first.text
    # The same request again: all but the last prompt token come from the cache.
    again = engine.complete(build_request(SOURCE, cursor), CompletionLimits(max_tokens=16))
    assert again.stats.prompt_tokens_reused == again.stats.prompt_tokens - 1
    assert again.stats.prompt_tokens_evaluated == 1
    # A keystroke extends the prefix: only the new tokens and the suffix are evaluated.
    typed = SOURCE[:cursor] + "d" + SOURCE[cursor:]
    keystroke = engine.complete(build_request(typed, cursor + 1), CompletionLimits(max_tokens=16))
    # Reused: exactly the tokens of the old prefix (less one if the typed letter merged with its end).
    before = build_request(SOURCE, cursor)
    prefix_tokens = engine.render(CompletionInput(before.prefix, "")).tokens - 2  # less <|fim_suffix|><|fim_middle|>
    assert prefix_tokens - 1 <= keystroke.stats.prompt_tokens_reused <= prefix_tokens
    assert keystroke.stats.prompt_tokens_evaluated == (
        keystroke.stats.prompt_tokens - keystroke.stats.prompt_tokens_reused
    )
    assert keystroke.stats.prompt_tokens_evaluated < first.stats.prompt_tokens / 3


def test_typing_on_cancels_the_stale_request(tmp_path: Path) -> None:
    model = write_coder_model(tmp_path / "slow-coder.gguf", SLOW_CODER)
    with CompletionEngine(tmp_path / "completion.log") as engine:
        loaded(engine, model)
        request = build_request(SOURCE * 4, len(SOURCE) * 2)
        limits = CompletionLimits(max_tokens=64, budget=PromptBudget(total=3000, suffix=200, related=0))
        results = []
        stale_id = engine.new_request_id()
        worker = threading.Thread(
            target=lambda: results.append(engine.complete(request, limits, request_id=stale_id)), name="complete"
        )
        worker.start()
        time.sleep(0.3)  # the worker is evaluating the long prompt
        fresh_id = engine.new_request_id()  # the user typed on
        worker.join(120)  # a hang guard, not a speed check
        assert results and results[0].reason == "cancelled" and results[0].text == ""
        # Stopped inside the prompt (llama.cpp's abort callback), not after it.
        stale = results[0].stats
        assert stale.generated_tokens == 0 and stale.prompt_tokens_evaluated < stale.prompt_tokens
        # Part of the stale prompt stays in the cache for the fresh request.
        fresh = engine.complete(request, CompletionLimits(max_tokens=4, budget=limits.budget), request_id=fresh_id)
        assert fresh.reason == "done"
        assert fresh.stats.prompt_tokens_reused + fresh.stats.prompt_tokens_evaluated == fresh.stats.prompt_tokens
        # A request already stale when its turn comes never reaches the worker.
        old = engine.new_request_id()
        engine.new_request_id()
        assert engine.complete(request, limits, request_id=old).reason == "cancelled"


def test_a_crash_turns_completion_off_until_restarted(engine: CompletionEngine, coder_gguf: Path) -> None:
    loaded(engine, coder_gguf)
    pid = engine.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    result = engine.complete(CompletionInput("def f(", ")"))
    assert result.reason == "error" and engine.state == "crashed"
    assert result.error == engine.reason and "restart" in engine.reason and "SIGKILL" in engine.reason
    # Off: further requests are refused at once, without starting a process.
    assert engine.complete(CompletionInput("x", "")).error == engine.reason and engine.pid is None
    assert engine.restart() == "Qwen2.5-Coder / Qwen3-Coder" and engine.state == "ready"
    assert engine.complete(CompletionInput("def f(", ")"), CompletionLimits(max_tokens=4)).reason == "done"


def test_model_file_removed_while_in_use(engine: CompletionEngine, coder_gguf: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copy(coder_gguf, tmp_path / "mine.gguf"))
    loaded(engine, copy)
    copy.unlink()
    # The loaded weights stay mapped: completion goes on.
    assert engine.complete(CompletionInput("def f(", ")"), CompletionLimits(max_tokens=4)).reason == "done"
    with pytest.raises(CompletionUnavailable, match="does not exist; choose another file"):
        engine.restart()
    assert engine.state == "refused"


def test_models_that_cannot_fill_in_the_middle(engine: CompletionEngine, tmp_path: Path) -> None:
    no_fim = write_coder_model(tmp_path / "no-fim.gguf", CODER_NO_FIM)
    with pytest.raises(CompletionUnavailable) as err:
        engine.load(no_fim, threads=1)
    assert str(err.value) == NO_FIM and engine.state == "refused"
    not_coder = write_coder_model(tmp_path / "qwen-instruct.gguf", QWEN_NOT_CODER)
    with pytest.raises(CompletionUnavailable, match="not trained to use them"):
        engine.load(not_coder, threads=1)
    assert engine.complete(CompletionInput("a", "b")).reason == "error"
    # FIM tokens without the tokenizer.ggml.fim_* keys: found from the vocabulary.
    no_keys = write_coder_model(tmp_path / "no-keys.gguf", CODER_NO_FIM_METADATA)
    loaded(engine, no_keys)
    garbage = tmp_path / "garbage.gguf"
    garbage.write_bytes(b"GGUF" + os.urandom(2000))
    with pytest.raises(CompletionUnavailable, match="could not be loaded"):
        engine.load(garbage, threads=1)


def test_huge_files_and_cursor_in_a_string(engine: CompletionEngine, coder_gguf: Path) -> None:
    loaded(engine, coder_gguf)
    big = "".join(f"value_{i} = {i}\n" for i in range(100_000))
    minified = "var a=1;" * 262_144
    in_string = 'message = "hello, wor'
    in_comment = "def f():\n    # add the tot"
    cases = (
        (big, len(big) // 2),
        (minified, len(minified) // 2),
        (in_string + '"\n', len(in_string)),
        (in_comment + "\n    return 0\n", len(in_comment)),
    )
    for text, cursor in cases:
        result = engine.complete(build_request(text, cursor), CompletionLimits(max_tokens=8))
        assert result.reason == "done", result.error
        assert result.stats.prompt_tokens <= 1024
        assert not result.text.endswith('"')  # never repeats what follows the cursor
