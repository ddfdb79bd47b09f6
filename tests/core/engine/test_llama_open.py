"""Models open with llama.cpp's extra buffer types only where they are safe (see ``llama_open``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import llama_cpp.llama_cpp as llama_low

from app.core.engine.llama_open import amx_kernels_can_run, open_llama
from app.core.models.starter import starter_file


def test_extra_buffers_off_reaches_llama_cpp_and_the_defaults_come_back(qwen3_gguf: Path) -> None:
    default = llama_low.llama_model_default_params
    llm = open_llama(qwen3_gguf, extra_buffers=False, n_ctx=128, n_threads=1, verbose=False)
    try:
        # If a new llama-cpp-python stopped reading the defaults, this is where it shows.
        assert llm.model_params.use_extra_bufts is False
        out = llm.create_completion("def hello", max_tokens=6, temperature=0.0)
        assert out["usage"]["completion_tokens"] > 0
    finally:
        llm.close()
    assert llama_low.llama_model_default_params is default
    assert llama_low.llama_model_default_params().use_extra_bufts is True


def test_extra_buffers_on_keeps_llama_cpp_defaults(qwen3_gguf: Path) -> None:
    llm = open_llama(qwen3_gguf, extra_buffers=True, n_ctx=128, n_threads=1, verbose=False)
    try:
        assert llm.model_params.use_extra_bufts is True
    finally:
        llm.close()


_REPLY = r"""
import json, sys
from app.core.engine.llama_open import open_llama
llm = open_llama(sys.argv[1], n_ctx=256, n_threads=2, verbose=False)
out = llm.create_completion("The capital of France is", max_tokens=8, temperature=0.0)
print(json.dumps({"extra": llm.model_params.use_extra_bufts, "text": out["choices"][0]["text"]}))
"""


def test_the_starter_model_replies_on_this_cpu() -> None:
    # A real Q4_1 model, whose weights go to llama.cpp's AMX buffer on a CPU with AMX: on such a
    # machine with a GCC 12 build this died with SIGILL at the first token. In a child process, so
    # that a crash fails this test instead of ending the test run.
    done = subprocess.run(
        [sys.executable, "-c", _REPLY, str(starter_file())], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["text"].strip()
    assert result["extra"] is (not amx_kernels_can_run())
