"""Which local model a front-end uses when none is named: the last one loaded, else the starter.

``quillpad chat`` without ``--model`` calls this, so a fresh install with the
starter extra answers at once; the notice always says which model it took
and why, so a tiny model's weak answer is never mistaken for Qwen3's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.models.starter import INSTALL_HINT, find_starter
from app.core.settings import Settings


class NoModelError(QuillpadError):
    """No model was named and there is none to fall back on."""


@dataclass(frozen=True)
class DefaultModel:
    """The chosen file and the one-sentence notice that says so."""

    path: Path
    notice: str


def default_local_model(settings: Settings) -> DefaultModel:
    """The most recently loaded model that still exists, else the starter; ``NoModelError`` if neither."""
    for recent in settings.recent_models:
        if Path(recent).is_file():
            return DefaultModel(
                Path(recent), f"No --model given: using {Path(recent).name}, the model the app loaded last."
            )
    starter = find_starter()
    if starter is not None:
        return DefaultModel(
            starter.path,
            "No --model given: using the starter model SmolLM2-135M-Instruct "
            "(tiny, for trying the app; download Qwen3 for real work: quillpad models download qwen3-8b).",
        )
    raise NoModelError(
        "Name a model: --model FILE.gguf, or --server URL or --profile NAME for a model server; "
        f"or install the starter model with `{INSTALL_HINT}`."
    )
