"""The catalogue of downloadable models (``models/catalogue.toml``), read and validated.

A download ID names one file: ``qwen3-8b-q4_k_m``; the model ID alone
(``qwen3-8b``) means its recommended quantisation.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from app.core.errors import QuillpadError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

GB = 1_000_000_000


class CatalogueError(QuillpadError):
    """The catalogue file is damaged, or an ID is not in it."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CatalogueFile(_Strict):
    """One quantisation of a model, as a file in the model's repository."""

    quant: str = Field(pattern=r"^[A-Z0-9_]+$")
    filename: str = Field(pattern=r"^[A-Za-z0-9._-]+\.gguf$")
    size_gb: float = Field(gt=0)
    ram_gb: float = Field(gt=0)

    @model_validator(mode="after")
    def _ram_covers_file(self) -> CatalogueFile:
        if self.ram_gb < self.size_gb:
            raise ValueError(f"{self.filename}: ram_gb must be at least size_gb")
        return self


class CatalogueModel(_Strict):
    """One model of the family with its downloadable files."""

    id: str = Field(pattern=r"^[a-z0-9.-]+$")
    name: str
    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    revision: str = "main"
    licence: str
    parameters: str
    architecture: str
    layers: int = Field(gt=0)
    kv_heads: int = Field(gt=0)
    head_dim: int = Field(gt=0)
    context_length: int = Field(gt=0)
    default_quant: str
    recommendation: str = Field(min_length=10, max_length=200)
    # "chat" for the chat model; "completion" for a fill-in-the-middle model for the editor's inline completion.
    purpose: Literal["chat", "completion"] = "chat"
    files: tuple[CatalogueFile, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _default_exists(self) -> CatalogueModel:
        quants = [f.quant for f in self.files]
        if len(set(quants)) != len(quants):
            raise ValueError(f"{self.id}: a quantisation is listed twice")
        if self.default_quant not in quants:
            raise ValueError(f"{self.id}: default_quant {self.default_quant} is not among its files")
        return self

    def file(self, quant: str | None = None) -> CatalogueFile:
        """The file for ``quant`` (the default quantisation when None)."""
        wanted = (quant or self.default_quant).upper()
        for entry in self.files:
            if entry.quant == wanted:
                return entry
        raise CatalogueError(
            f"{self.name} has no {wanted} file; choose one of {', '.join(f.quant for f in self.files)}."
        )

    def kv_bytes_per_token(self) -> int:
        """f16 keys and values for one token across all layers."""
        return 2 * self.layers * self.kv_heads * self.head_dim * 2


@dataclass(frozen=True)
class CatalogueEntry:
    """One downloadable file with its model: what ``download ID`` refers to."""

    model: CatalogueModel
    file: CatalogueFile

    @property
    def id(self) -> str:
        return f"{self.model.id}-{self.file.quant.lower()}"

    @property
    def is_default(self) -> bool:
        return self.file.quant == self.model.default_quant

    @property
    def approx_size(self) -> int:
        return int(self.file.size_gb * GB)

    @property
    def approx_ram(self) -> int:
        return int(self.file.ram_gb * GB)


class Catalogue(_Strict):
    """Every model the app offers to download."""

    model: tuple[CatalogueModel, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        ids = [m.id for m in self.model]
        if len(set(ids)) != len(ids):
            raise ValueError("a model id is listed twice")
        return self

    @property
    def models(self) -> tuple[CatalogueModel, ...]:
        return self.model

    def entries(self) -> list[CatalogueEntry]:
        """Every downloadable file, in catalogue order."""
        return [CatalogueEntry(m, f) for m in self.model for f in m.files]

    def resolve(self, entry_id: str) -> CatalogueEntry:
        """The file an ID names: ``qwen3-8b-q4_k_m``, or ``qwen3-8b`` for its default quantisation."""
        wanted = entry_id.strip().lower()
        for model in self.model:
            if wanted == model.id:
                return CatalogueEntry(model, model.file())
            for entry in model.files:
                if wanted == f"{model.id}-{entry.quant.lower()}":
                    return CatalogueEntry(model, entry)
        raise CatalogueError(f"There is no model {entry_id!r} in the catalogue; `quillpad models list` shows the IDs.")


def parse_catalogue(data: dict[str, Any], source: str = "") -> Catalogue:
    """Validate catalogue data; raise ``CatalogueError`` naming the first problem."""
    try:
        return Catalogue.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "its top level"
        name = f"The model catalogue {source}" if source else "The model catalogue"
        raise CatalogueError(f"{name} is damaged at {where}: {first['msg']}.") from None


def read_catalogue(path: Path) -> Catalogue:
    """Read and validate a catalogue TOML file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise CatalogueError(f"The model catalogue {path} cannot be read ({err}); reinstall Quillpad.") from None
    return parse_catalogue(data, str(path))


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The catalogue shipped with the app (``models/catalogue.toml``)."""
    ref = resources.files("models").joinpath("catalogue.toml")
    with resources.as_file(ref) as path:
        return read_catalogue(Path(path))
