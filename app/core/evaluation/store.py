"""The run folder: a manifest and one JSON line per finished task and seed.

A line is written (and flushed to disk) as soon as a task is scored, so a
killed run loses at most the tasks in progress; a torn last line is ignored.
A task that failed for the server's sake is stored with ``error`` set and
runs again on resume; its later line replaces it (the last line of a task
wins), so nothing is counted twice.
Re-running with the same settings continues where it stopped; different
settings are refused rather than mixed into one report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.paths import app_paths

MANIFEST = "manifest.json"
RESULTS = "results.jsonl"


def evaluations_folder() -> Path:
    """Where runs go by default: ``evaluations/`` in the data folder."""
    return app_paths().data_dir / "evaluations"


def default_run_folder(kind: str, mode: str, model: str | None, thinking: bool | None) -> Path:
    """One folder per task kind, model file and thinking mode, so the same command resumes."""
    stem = Path(model).stem if model and mode == "model" else mode
    think = "" if mode != "model" else {None: "", True: "-think", False: "-nothink"}[thinking]
    return evaluations_folder() / f"{kind}-{stem}{think}"


def server_run_folder(kind: str, model: str, thinking: bool | None) -> Path:
    """One folder per task kind, served model and thinking mode, so the same command resumes
    (wherever the server now listens)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("._") or "model"
    think = {None: "", True: "-think", False: "-nothink"}[thinking]
    return evaluations_folder() / f"{kind}-server-{safe}{think}"


class RunStoreError(QuillpadError):
    """The output folder cannot hold this run."""


def result_key(task_id: str, seed: int) -> str:
    """The key a finished task is stored under."""
    return f"{task_id}#{seed}"


def fingerprint(settings: dict[str, Any]) -> str:
    """A short hash of everything that changes results."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


class RunStore:
    """Finished results of one run, on disk in ``folder``. Appends are thread-safe."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self.results: dict[str, dict[str, Any]] = {}

    @property
    def manifest_path(self) -> Path:
        return self.folder / MANIFEST

    @property
    def results_path(self) -> Path:
        return self.folder / RESULTS

    def open(self, manifest: dict[str, Any], *, fresh: bool = False) -> int:
        """Start or continue the run described by ``manifest``; returns how many results were kept.

        ``manifest["fingerprint"]`` must match the folder's earlier run to continue it.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RunStoreError(f"The output folder {self.folder} cannot be created ({err.strerror}).") from None
        old = self.read_manifest()
        if old is not None and not fresh and old.get("fingerprint") != manifest["fingerprint"]:
            raise RunStoreError(
                f"{self.folder} holds a run with other settings; choose another --out folder, "
                "or pass --fresh to start over there."
            )
        if fresh or old is None:
            self.results_path.unlink(missing_ok=True)
        self.results = self._read_results()
        self.write_manifest(manifest)
        return len(self.results)

    def read_manifest(self) -> dict[str, Any] | None:
        """The folder's manifest, or ``None`` when there is none (or it is unreadable)."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _read_results(self) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        try:
            lines = self.results_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return found
        except (OSError, UnicodeDecodeError) as err:
            raise RunStoreError(f"The results file in {self.folder} cannot be read ({err}); use --fresh.") from None
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill; that task runs again
            if isinstance(record, dict) and "task_id" in record and "seed" in record:
                found[result_key(record["task_id"], int(record["seed"]))] = record
        return found

    def done(self, task_id: str, seed: int) -> bool:
        """Whether the task has a result; one that failed for the server's sake (``error``) runs again."""
        record = self.results.get(result_key(task_id, seed))
        return record is not None and not record.get("error")

    def append(self, record: dict[str, Any]) -> None:
        """Keep one finished task: in memory and, durably, on disk."""
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            with open(self.results_path, "a", encoding="utf-8") as handle:
                # A torn line from an earlier kill must not swallow this one.
                if handle.tell() > 0 and not self._ends_with_newline():
                    handle.write("\n")
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            self.results[result_key(record["task_id"], int(record["seed"]))] = record

    def _ends_with_newline(self) -> bool:
        with open(self.results_path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Replace the manifest atomically (a kill leaves the old or the new one, never half)."""
        temporary = self.manifest_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.manifest_path)
