"""The edit grammar, checked by llama.cpp itself on the tiny model (in a child process)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.core.edits.grammar import edit_grammar
from app.core.edits.parser import parse_edits

_SCRIPT = r"""
import json, sys
import llama_cpp
from llama_cpp import LlamaGrammar
from app.core.engine.llama_open import open_llama
from app.core.engine.vocab import Vocab
model, grammar = sys.argv[1], sys.stdin.read()
llm = open_llama(model, n_ctx=1024, n_threads=1, seed=7, verbose=False)
handle = llama_cpp.llama_sampler_init_grammar(Vocab(llm).handle, grammar.encode(), b"root")
if not handle:
    print(json.dumps({"valid": False}))
    sys.exit(0)
llama_cpp.llama_sampler_free(handle)
out = llm.create_completion("Edit:", max_tokens=160, grammar=LlamaGrammar.from_string(grammar), seed=7)
print(json.dumps({"valid": True, "text": out["choices"][0]["text"]}))
"""


def _run(model: Path, grammar: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(model)],
        input=grammar,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_llama_cpp_accepts_the_grammar_and_output_follows_it(qwen3_gguf: Path) -> None:
    result = _run(qwen3_gguf, edit_grammar())
    assert result["valid"] is True
    text = str(result["text"])
    # Random weights, yet the output has the edit format's shape: a path line, then a fence.
    first, second = text.split("\n")[:2]
    assert "." in first and second.startswith("```")
    parse_edits(text)  # whatever came out, the parser copes


def test_a_broken_grammar_is_rejected(qwen3_gguf: Path) -> None:
    assert _run(qwen3_gguf, "root ::= (")["valid"] is False
