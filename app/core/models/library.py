"""One facade over model management for the CLI and the GUI: what is offered, installed, and how it fits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.models.catalogue import Catalogue, CatalogueEntry, load_catalogue
from app.core.models.download import Downloader
from app.core.models.hardware import Fit, Hardware, ModelShape, assess_fit, completion_reserve
from app.core.models.registry import InstalledModel, ModelRegistry, models_dir
from app.core.models.starter import STARTER_ID, ensure_starter_file, starter_model
from app.core.paths import AppPaths
from app.core.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueRow:
    """A catalogue file with its state here: installed, partly downloaded, and its fit."""

    entry: CatalogueEntry
    installed: InstalledModel | None
    partial_bytes: int
    fit: Fit

    def to_dict(self) -> dict[str, Any]:
        model = self.entry.model
        return {
            "id": self.entry.id,
            "name": model.name,
            "quant": self.entry.file.quant,
            "repo": model.repo,
            "filename": self.entry.file.filename,
            "approx_size": self.entry.approx_size,
            "approx_ram": self.entry.approx_ram,
            "licence": model.licence,
            "recommended": self.entry.is_default,
            "recommendation": model.recommendation,
            "installed": self.installed is not None,
            "partial_bytes": self.partial_bytes,
            "fit": fit_dict(self.fit),
        }


def fit_dict(fit: Fit) -> dict[str, Any]:
    return {
        "label": fit.label.value,
        "context_length": fit.context_length,
        "needed": fit.needed,
        "in_ram": fit.in_ram,
        "proposed_context": fit.proposed_context,
        "gpu_layers": fit.gpu_layers,
        "reason": fit.reason,
    }


class ModelLibrary:
    """The models folder, the catalogue, the starter and the offline switch together."""

    def __init__(
        self,
        folder: Path,
        *,
        offline: bool = False,
        catalogue: Catalogue | None = None,
        completion_model: str | None = None,
    ) -> None:
        self.registry = ModelRegistry(folder)
        self.offline = offline
        self.catalogue = catalogue or load_catalogue()
        # The fit of a chat model counts the completion model loaded beside it, and the other way round.
        self.completion_model = completion_model

    @classmethod
    def from_settings(cls, paths: AppPaths, settings: Settings) -> ModelLibrary:
        return cls(
            models_dir(paths, settings), offline=settings.models.offline, completion_model=settings.completion.model
        )

    def _reserved(self, filename: str | None = None) -> int:
        """RAM for the completion model unless ``filename`` is that model itself."""
        chosen = self.completion_model
        if not chosen or (filename is not None and Path(chosen).name == filename):
            return 0
        return completion_reserve(chosen)

    @property
    def folder(self) -> Path:
        return self.registry.folder

    def _extra(self) -> list[InstalledModel]:
        starter = starter_model(self.folder)
        return [starter] if starter else []

    def installed(self) -> list[InstalledModel]:
        """Downloads, other GGUF files in the folder, linked files and the starter model."""
        return self.registry.installed(self._extra())

    def find(self, model_id: str) -> InstalledModel:
        return self.registry.find(model_id, self._extra())

    def downloader(self, **kwargs: Any) -> Downloader:
        return Downloader(self.registry, offline=self.offline, **kwargs)

    def remove(self, model_id: str) -> InstalledModel:
        return self.registry.remove(model_id, self._extra())

    def verify(self, model_id: str, progress: Callable[[int], None] | None = None) -> InstalledModel:
        model = self.find(model_id)
        if model.id == STARTER_ID:
            ensure_starter_file(self.folder)
        return self.registry.verify(model.id, progress, self._extra())

    def link(self, path: str | Path) -> None:
        self.registry.link(path)

    def usable_path(self, model: InstalledModel) -> Path:
        """The file to load (assembling the starter model on first use)."""
        if model.id == STARTER_ID:
            return ensure_starter_file(self.folder)
        if not model.exists:
            raise QuillpadError(f"{model.path} is missing; remove it from the list or download it again.")
        return Path(model.path)

    def catalogue_rows(self, hardware: Hardware, context_length: int | None = None) -> list[CatalogueRow]:
        """Every catalogue file with install state and hardware fit."""
        by_path = {Path(m.path).name: m for m in self.installed() if m.source in ("download", "folder")}
        downloader = self.downloader()
        rows = []
        for entry in self.catalogue.entries():
            fit = assess_fit(
                ModelShape.from_catalogue(entry), hardware, context_length, reserved=self._reserved(entry.file.filename)
            )
            rows.append(CatalogueRow(entry, by_path.get(entry.file.filename), downloader.partial_size(entry), fit))
        return rows

    def inspect_installed(
        self, model: InstalledModel, hardware: Hardware, context_length: int | None = None
    ) -> tuple[ModelInfo | None, Fit | None]:
        """The inspector's facts of an installed file and its fit (None, None if it cannot be read)."""
        if not model.exists:
            return None, None
        try:
            info = inspect_model(model.path, check_loadable=False)
        except QuillpadError as err:
            log.info("cannot inspect %s: %s", model.path, err)
            return None, None
        reserved = self._reserved(Path(model.path).name)
        return info, assess_fit(ModelShape.from_info(info), hardware, context_length, reserved=reserved)

    def installed_fit(self, model: InstalledModel, hardware: Hardware, context_length: int | None = None) -> Fit | None:
        """The fit of an installed file from its GGUF metadata (None if it cannot be read)."""
        return self.inspect_installed(model, hardware, context_length)[1]
