"""Counting tokens with a model's own tokenizer, for an exact context budget.

Only the vocabulary is loaded (llama.cpp's ``vocab_only``), which takes well
under a second even for a big model and no memory for weights.
"""

from __future__ import annotations

from pathlib import Path

from app.core.project.errors import ProjectError
from app.core.project.tokens import TokenCounter


def model_token_counter(path: Path) -> TokenCounter:
    """A counter that tokenizes with the GGUF model at ``path``; raises ``ProjectError`` if it cannot load."""
    if not path.is_file():
        raise ProjectError(f"The model {path} does not exist; give the path of a .gguf file.")
    try:
        import llama_cpp

        llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
    except Exception as err:  # llama.cpp reports a bad file as ValueError or RuntimeError
        raise ProjectError(
            f"The tokenizer of {path.name} could not be loaded ({err}); check that it is a GGUF model file."
        ) from err

    def count(text: str) -> int:
        return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0

    return count
