"""Fill-in-the-middle formats as data, and choosing the one a model supports.

A format is read from ``models/profiles/fim/*.toml``. Which one a model uses
is decided from the model itself: the FIM token ids llama.cpp takes from the
GGUF metadata (``tokenizer.ggml.fim_pre_token_id`` …) or, when the metadata
has none, the format whose prefix, suffix and middle markers are each a
single special token of the vocabulary.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from app.core.errors import QuillpadError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class NotFimCapableError(QuillpadError):
    """The model cannot fill in the middle: one sentence says why and what to choose."""


@dataclass(frozen=True)
class FimFormat:
    """How one model family asks for the middle between a prefix and a suffix."""

    name: str
    prefix: str
    suffix: str
    middle: str
    template: str
    stop: tuple[str, ...]
    repo_name: str | None = None
    file_sep: str | None = None
    untrained_architectures: tuple[str, ...] = ()
    trained_name_contains: tuple[str, ...] = ()

    def fill(self, prefix: str, suffix: str) -> str:
        """The FIM part of the prompt as text."""
        return "".join(text for text, _special in self.fill_parts(prefix, suffix))

    def fill_parts(self, prefix: str, suffix: str) -> list[tuple[str, bool]]:
        """The FIM part as pieces, each a marker (special) or plain text (the user's code,
        which is never tokenized with specials: a file containing a marker must not steer the model)."""
        values = {
            "{fim_prefix}": (self.prefix, True),
            "{fim_suffix}": (self.suffix, True),
            "{fim_middle}": (self.middle, True),
            "{prefix}": (prefix, False),
            "{suffix}": (suffix, False),
        }
        parts: list[tuple[str, bool]] = []
        rest = self.template
        while rest:
            hits = [(rest.find(key), key) for key in values if key in rest]
            if not hits:
                parts.append((rest, False))
                break
            pos, key = min(hits)
            if pos:
                parts.append((rest[:pos], False))
            if values[key][0]:
                parts.append(values[key])
            rest = rest[pos + len(key) :]
        return parts

    @property
    def repository_level(self) -> bool:
        """Whether related files can go before the current one (``<|file_sep|>`` and friends)."""
        return self.file_sep is not None

    def refusal_for(self, architecture: str, name: str) -> str | None:
        """The sentence refusing a model that has these tokens but was not trained to use them."""
        if architecture.lower() not in self.untrained_architectures:
            return None
        if any(word in name.lower() for word in self.trained_name_contains):
            return None
        return (
            f"{name or architecture} has fill-in-the-middle tokens but was not trained to use them, "
            "so it cannot complete code; choose a coding model such as Qwen2.5-Coder or Qwen3-Coder."
        )


def _format_from_toml(data: dict[str, Any]) -> FimFormat:
    return FimFormat(
        name=str(data["name"]),
        prefix=str(data["prefix"]),
        suffix=str(data["suffix"]),
        middle=str(data["middle"]),
        template=str(data["template"]),
        stop=tuple(str(s) for s in data.get("stop", ())),
        repo_name=data.get("repo_name"),
        file_sep=data.get("file_sep"),
        untrained_architectures=tuple(str(a).lower() for a in data.get("untrained_architectures", ())),
        trained_name_contains=tuple(str(w).lower() for w in data.get("trained_name_contains", ())),
    )


def load_fim_formats() -> list[FimFormat]:
    """Every bundled FIM format, sorted by name (Qwen's first: the recommended models)."""
    folder = resources.files("models") / "profiles" / "fim"
    formats = [
        _format_from_toml(tomllib.loads(entry.read_text(encoding="utf-8")))
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    ]
    formats.sort(key=lambda f: (not f.name.startswith("Qwen"), f.name))
    return formats


def _marker(text: str) -> str:
    # SentencePiece vocabularies store Code Llama's markers as "▁<PRE>".
    return text.replace("▁", " ").strip() if text.startswith("▁") else text.strip()


NO_FIM = (
    "This model has no fill-in-the-middle tokens, so it cannot complete code in the editor; "
    "choose a coding model such as Qwen2.5-Coder (Settings ▸ Completion)."
)


def choose_format(
    formats: list[FimFormat],
    metadata_markers: tuple[str, str, str] | None,
    is_single_special: Callable[[str], bool],
    architecture: str,
    name: str,
) -> FimFormat:
    """The format of a model, from its metadata's FIM tokens or else its vocabulary.

    ``metadata_markers`` are the texts of the prefix, suffix and middle tokens
    the model declares (None when it declares none); ``is_single_special``
    says whether a text is one special token of the vocabulary. Raises
    ``NotFimCapableError`` with one sentence when no format fits.
    """
    chosen: FimFormat | None = None
    if metadata_markers is not None:
        pre, suf, mid = (_marker(m) for m in metadata_markers)
        chosen = next((f for f in formats if (f.prefix, f.suffix, f.middle) == (pre, suf, mid)), None)
        if chosen is None:
            # Declared but unknown to us: the common prefix-suffix-middle order is the safe guess.
            chosen = FimFormat(
                name=f"declared by the model ({pre} {suf} {mid})",
                prefix=metadata_markers[0],
                suffix=metadata_markers[1],
                middle=metadata_markers[2],
                template="{fim_prefix}{prefix}{fim_suffix}{suffix}{fim_middle}",
                stop=(),
            )
    if chosen is None:
        chosen = next(
            (f for f in formats if all(is_single_special(t) for t in (f.prefix, f.suffix, f.middle))),
            None,
        )
    if chosen is None:
        raise NotFimCapableError(NO_FIM)
    refusal = chosen.refusal_for(architecture, name)
    if refusal is not None:
        raise NotFimCapableError(refusal)
    return chosen
