"""A load whose GPU settings fail is retried on the CPU, with a notice (real llama.cpp, tiny model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.engine import Engine, LoadOptions
from app.core.engine.events import AnswerText, Done, ThinkingText
from app.core.engine.options import ChatMessage, ChatRequest
from app.core.errors import QuillpadError
from tests.fixtures.malformed_gguf import write_unknown_arch

# More GPUs than any llama.cpp build supports (LLAMA_MAX_DEVICES is 16): llama-cpp-python refuses
# the GPU split itself, so the GPU load really fails, on a CPU-only build as on a GPU one.
IMPOSSIBLE_SPLIT = (1.0,) * 17


def test_a_failed_gpu_load_is_retried_on_the_cpu_with_a_notice(qwen3_gguf: Path) -> None:
    with Engine() as engine:
        loaded = engine.load(qwen3_gguf, LoadOptions(gpu_layers=-1, tensor_split=IMPOSSIBLE_SPLIT, context_length=512))
        assert loaded.options.gpu_layers == 0 and loaded.options.tensor_split is None
        notice = loaded.warnings[0]
        assert notice.startswith("Loading on the GPU failed (")
        assert "maximum supported devices" in notice
        assert "loaded on the CPU instead" in notice
        events = list(engine.chat(ChatRequest((ChatMessage("user", "hi"),), max_tokens=4, seed=1)))
        assert any(isinstance(e, (AnswerText, ThinkingText)) for e in events)
        assert isinstance(events[-1], Done)
        # A restart reloads with the options that worked.
        restarted = engine.restart()
        assert restarted is not None and restarted.options.gpu_layers == 0


def test_when_the_cpu_retry_fails_too_the_cpu_error_is_reported(tmp_path: Path) -> None:
    alien = write_unknown_arch(tmp_path / "alien.gguf")
    with Engine() as engine:
        with pytest.raises(QuillpadError, match=r"llama.cpp could not load alien.gguf") as caught:
            engine.load(alien, LoadOptions(gpu_layers=-1, threads=1))
        assert "GPU" not in str(caught.value)
        assert engine.loaded is None
