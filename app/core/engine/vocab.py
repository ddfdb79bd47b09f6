"""A loaded model's vocabulary, read through llama-cpp-python's public API only.

``Llama`` keeps its vocabulary on private attributes (``_model.vocab``); the
public route is the raw model pointer (``Llama.model``) and llama.cpp's own
``llama_vocab_*`` functions, which llama-cpp-python exports as its C API.
"""

from __future__ import annotations

from typing import Any


class Vocab:
    """Token facts of one loaded ``llama_cpp.Llama`` (its special tokens, end-of-generation set, texts)."""

    def __init__(self, llm: Any) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.handle = llama_cpp.llama_model_get_vocab(llm.model)
        self.size = int(llama_cpp.llama_vocab_n_tokens(self.handle))

    @property
    def add_bos(self) -> bool:
        """Whether the model's tokenizer wants a beginning-of-sequence token in front of a prompt."""
        return bool(self._llama_cpp.llama_vocab_get_add_bos(self.handle))

    @property
    def bos(self) -> int:
        """The beginning-of-sequence token (negative when the model has none)."""
        return int(self._llama_cpp.llama_vocab_bos(self.handle))

    @property
    def eos(self) -> int:
        """The end-of-sequence token (negative when the model has none)."""
        return int(self._llama_cpp.llama_vocab_eos(self.handle))

    def text(self, token: int) -> str:
        """The token's text as the vocabulary stores it ("" for a negative id)."""
        if token < 0:
            return ""
        return bytes(self._llama_cpp.llama_vocab_get_text(self.handle, token)).decode("utf-8", errors="replace")

    def is_eog(self, token: int) -> bool:
        """Whether the token ends a generation (EOS, EOT, <|im_end|> and the like)."""
        return bool(self._llama_cpp.llama_vocab_is_eog(self.handle, token))

    def eog_ids(self) -> list[int]:
        """Every end-of-generation token."""
        return [t for t in range(self.size) if self.is_eog(t)]
