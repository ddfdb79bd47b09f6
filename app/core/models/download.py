"""Downloading catalogue models from the Hugging Face hub: resumable, verified, cancellable.

huggingface_hub builds the URL, asks the hub for the file's metadata (a HEAD
on ``/{repo}/resolve/{revision}/{file}``: commit, sha256 in ``X-Linked-Etag``,
size in ``X-Linked-Size``, where to fetch it) and provides the HTTP session;
the transfer itself is a plain streamed GET so that it can continue a partial
file with a ``Range`` request, report progress, honour cancel between chunks
and keep the partial file across an app restart (``hf_hub_download`` deletes
an unfinished file). Xet storage is never used: the GET goes to the ordinary
download location.

Nothing here runs unless the user asks for a download, and an offline
setting refuses before any request is made.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.core.errors import QuillpadError
from app.core.models.catalogue import CatalogueEntry
from app.core.models.registry import PART_SUFFIX, ModelRegistry, sha256_file

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
# Room left on the disk beyond the file itself (the registry, logs, the OS).
DISK_MARGIN = 64 * 1024 * 1024
PROGRESS_INTERVAL = 0.2  # seconds between progress reports
SPEED_WINDOW = 5.0  # seconds of history behind the speed figure


class DownloadError(QuillpadError):
    """A download that could not finish; the message says why and what to do."""


class OfflineError(DownloadError):
    """Downloads are switched off (offline setting or HF_HUB_OFFLINE)."""


class NotEnoughSpaceError(DownloadError):
    """The disk has no room for the file."""


class ChecksumError(DownloadError):
    """The downloaded bytes do not match the hub's sha256; the file was deleted."""


class DownloadCancelled(DownloadError):
    """The user cancelled; the partial file is kept so the next download continues."""


Phase = Literal["connecting", "downloading", "verifying", "done"]


@dataclass(frozen=True)
class Progress:
    """A progress report: bytes done of total, speed and time left."""

    phase: Phase
    done: int
    total: int
    speed: float = 0.0  # bytes per second over the last few seconds
    eta: float | None = None  # seconds left, None while unknown

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    def line(self) -> str:
        """One human line: ``42% 2.1 GB of 5.0 GB at 11.3 MB/s, 4 min 20 s left``."""
        if self.phase == "connecting":
            return "connecting…"
        if self.phase == "verifying":
            return f"verifying sha256 {self.fraction:.0%}"
        if self.phase == "done":
            return f"done, {format_bytes(self.total)}"
        eta = "" if self.eta is None else f", {format_duration(self.eta)} left"
        return (
            f"{self.fraction:.0%} {format_bytes(self.done)} of {format_bytes(self.total)}"
            f" at {format_bytes(int(self.speed))}/s{eta}"
        )


def format_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def format_duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class _SpeedMeter:
    """Bytes per second over a sliding window, and the time left at that speed."""

    def __init__(self, start: int) -> None:
        self.samples: deque[tuple[float, int]] = deque([(time.monotonic(), start)])

    def add(self, done: int) -> float:
        now = time.monotonic()
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > SPEED_WINDOW:
            self.samples.popleft()
        first_t, first_done = self.samples[0]
        elapsed = now - first_t
        return (done - first_done) / elapsed if elapsed > 0 else 0.0


def hub_endpoint(explicit: str | None = None) -> str:
    """The hub to download from: the argument, else ``HF_ENDPOINT`` (read now, not at import), else huggingface.co."""
    return (explicit or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def prepare_hub() -> None:
    """Import-time and run-time settings for huggingface_hub: no telemetry.

    With telemetry on, every request's user-agent header is built by fetching
    ``{ENDPOINT}/api/agent-harnesses`` (a request the user did not ask for, and a
    file written to ``~/.cache/huggingface``). The environment variable covers
    the import; the constant covers an import that happened earlier.
    """
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    from huggingface_hub import constants

    constants.HF_HUB_DISABLE_TELEMETRY = True


_offline_set_by_us = False


def set_hub_offline(offline: bool) -> None:
    """Make huggingface_hub itself refuse every request while the app is set to work offline.

    Switching back only undoes what this function did (a user's own HF_HUB_OFFLINE stays).
    """
    global _offline_set_by_us
    if offline == _offline_set_by_us:
        return
    from huggingface_hub import constants

    if offline:
        if constants.HF_HUB_OFFLINE:
            return  # already offline by the user's own environment
        os.environ["HF_HUB_OFFLINE"] = "1"
        constants.HF_HUB_OFFLINE = True
    else:
        os.environ.pop("HF_HUB_OFFLINE", None)
        constants.HF_HUB_OFFLINE = False
    _offline_set_by_us = offline


def _free_space(path: Path) -> int:
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return shutil.disk_usage(probe).free


@dataclass(frozen=True)
class _Remote:
    url: str
    sha256: str
    size: int
    commit: str | None


class Downloader:
    """Downloads catalogue files into a models folder.

    ``free_space`` and the timeouts can be injected (tests use a tiny free-space
    figure and a short read timeout).
    """

    def __init__(
        self,
        registry: ModelRegistry,
        *,
        offline: bool = False,
        endpoint: str | None = None,
        connect_timeout: float = 15.0,
        read_timeout: float = 30.0,
        free_space: Callable[[Path], int] = _free_space,
    ) -> None:
        self.registry = registry
        self.offline = offline
        self.endpoint = endpoint
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.free_space = free_space

    @property
    def folder(self) -> Path:
        return self.registry.folder

    def target(self, entry: CatalogueEntry) -> Path:
        """Where the finished file goes."""
        return self.folder / entry.file.filename

    def partial(self, entry: CatalogueEntry) -> Path:
        """Where the unfinished file waits (never a ``.gguf`` name)."""
        return self.registry.partial_dir / (entry.file.filename + PART_SUFFIX)

    def partial_size(self, entry: CatalogueEntry) -> int:
        part = self.partial(entry)
        return part.stat().st_size if part.is_file() else 0

    # -- the download --------------------------------------------------

    def check_allowed(self) -> None:
        """Raise ``OfflineError`` when the offline setting forbids downloads."""
        if self.offline:
            raise OfflineError(
                "Quillpad is set to work offline, so it will not download anything; "
                "untick “Work offline” in Model ▸ Settings (or run `quillpad models offline off`) first."
            )

    def download(
        self,
        entry: CatalogueEntry,
        progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Download, verify and install one file; return its path. Raises ``DownloadError``."""
        self.check_allowed()
        report = progress or (lambda _p: None)
        cancel = cancel or threading.Event()
        report(Progress("connecting", 0, 0))
        remote = self._metadata(entry)
        target = self.target(entry)
        if target.is_file() and target.stat().st_size == remote.size:
            installed = {m.path: m for m in self.registry.installed()}.get(str(target))
            if installed is not None and installed.sha256 == remote.sha256:
                report(Progress("done", remote.size, remote.size))
                return target
        part = self._prepare_partial(entry, remote)
        done = part.stat().st_size if part.is_file() else 0
        self._check_space(entry, remote.size - done)
        if done < remote.size:
            self._fetch(entry, remote, part, done, report, cancel)
        self._verify(entry, remote, part, report, cancel)
        os.replace(part, target)
        self._meta_path(part).unlink(missing_ok=True)
        self.registry.record_download(
            target.name,
            catalogue_id=entry.id,
            sha256=remote.sha256,
            size=remote.size,
            repo=entry.model.repo,
            commit=remote.commit,
        )
        report(Progress("done", remote.size, remote.size))
        return target

    def _metadata(self, entry: CatalogueEntry) -> _Remote:
        prepare_hub()
        import httpx2
        from huggingface_hub import get_hf_file_metadata, hf_hub_url
        from huggingface_hub.errors import (
            EntryNotFoundError,
            HfHubHTTPError,
            OfflineModeIsEnabled,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )

        endpoint = hub_endpoint(self.endpoint)
        name = entry.file.filename
        url = hf_hub_url(entry.model.repo, name, revision=entry.model.revision, endpoint=endpoint)
        try:
            meta = get_hf_file_metadata(url, token=False, timeout=self.connect_timeout, endpoint=endpoint)
        except OfflineModeIsEnabled:
            raise OfflineError(
                "Downloads are switched off by HF_HUB_OFFLINE; unset it (or the offline setting) to download."
            ) from None
        except httpx2.TimeoutException:
            raise DownloadError(
                f"The hub at {endpoint} did not answer within {self.connect_timeout:g} s; "
                "check the connection and try again."
            ) from None
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError):
            raise DownloadError(
                f"{entry.model.repo} has no file {name} on the hub; the catalogue may be out of date."
            ) from None
        except HfHubHTTPError as err:
            status = err.response.status_code if err.response is not None else "?"
            raise DownloadError(f"The hub refused the request for {name} (HTTP {status}); try again later.") from None
        except (httpx2.HTTPError, OSError) as err:
            raise DownloadError(
                f"Cannot reach the hub at {endpoint} ({err.__class__.__name__}); check the connection and try again."
            ) from None
        sha = (meta.etag or "").lower()
        if not SHA256_RE.fullmatch(sha):
            raise DownloadError(
                f"The hub gave no sha256 for {name}, so the download could not be checked; not downloading it."
            )
        if not meta.size:
            raise DownloadError(f"The hub did not say how large {name} is; not downloading it.")
        return _Remote(url=meta.location, sha256=sha, size=meta.size, commit=meta.commit_hash)

    @staticmethod
    def _meta_path(part: Path) -> Path:
        return part.with_name(part.name + ".json")

    def _prepare_partial(self, entry: CatalogueEntry, remote: _Remote) -> Path:
        """Keep a partial file only if it belongs to the same file version on the hub."""
        part = self.partial(entry)
        meta_path = self._meta_path(part)
        part.parent.mkdir(parents=True, exist_ok=True)
        try:
            known = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            known = None
        same = isinstance(known, dict) and known.get("sha256") == remote.sha256 and known.get("size") == remote.size
        if part.exists() and (not same or part.stat().st_size > remote.size):
            log.info("discarding partial %s: it belongs to another version of the file", part)
            part.unlink()
        meta_path.write_text(json.dumps({"sha256": remote.sha256, "size": remote.size}), encoding="utf-8")
        return part

    def _check_space(self, entry: CatalogueEntry, still_needed: int) -> None:
        free = self.free_space(self.folder)
        if free < still_needed + DISK_MARGIN:
            raise NotEnoughSpaceError(
                f"Not enough disk space for {entry.file.filename}: it needs {format_bytes(still_needed)} more "
                f"and {self.folder} has {format_bytes(free)} free; free some space or choose another "
                "models folder in the settings."
            )

    def _fetch(
        self,
        entry: CatalogueEntry,
        remote: _Remote,
        part: Path,
        done: int,
        report: Callable[[Progress], None],
        cancel: threading.Event,
    ) -> None:
        import httpx2
        from huggingface_hub import get_session, hf_raise_for_status
        from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
        from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]  # lazily exported

        headers: dict[str, Any] = build_hf_headers(token=False)
        headers["Accept-Encoding"] = "identity"
        if done:
            headers["Range"] = f"bytes={done}-"
        timeout = httpx2.Timeout(self.read_timeout, connect=self.connect_timeout)
        meter = _SpeedMeter(done)
        name = entry.file.filename
        try:
            with get_session().stream("GET", remote.url, headers=headers, timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()  # so the error can quote the body
                    try:
                        hf_raise_for_status(response)
                    except HfHubHTTPError:
                        log.warning("download of %s refused: HTTP %s", name, response.status_code, exc_info=True)
                    raise DownloadError(
                        f"The download server refused {name} (HTTP {response.status_code}); try again, and the "
                        f"{format_bytes(done)} already here are kept."
                    )
                mode = "ab"
                if done and response.status_code != 206:
                    # The server ignored the Range header: start the file again.
                    done, mode = 0, "wb"
                    meter = _SpeedMeter(0)
                last_report = 0.0
                with part.open(mode) as handle:
                    for chunk in response.iter_bytes():
                        if cancel.is_set():
                            raise DownloadCancelled(
                                f"Download of {name} cancelled; the {format_bytes(done)} already fetched are kept "
                                "and the next download continues from there."
                            )
                        handle.write(chunk)
                        done += len(chunk)
                        if done > remote.size:
                            break
                        now = time.monotonic()
                        if now - last_report >= PROGRESS_INTERVAL or done == remote.size:
                            last_report = now
                            speed = meter.add(done)
                            eta = (remote.size - done) / speed if speed > 0 else None
                            report(Progress("downloading", done, remote.size, speed, eta))
        except DownloadError:
            raise
        except httpx2.TimeoutException:
            raise DownloadError(
                f"The server stopped sending {name} (nothing for {self.read_timeout:g} s, "
                f"{format_bytes(done)} of {format_bytes(remote.size)} kept); try again and it continues from there."
            ) from None
        except OfflineModeIsEnabled:
            raise OfflineError("Downloads are switched off by HF_HUB_OFFLINE; unset it to download.") from None
        except (httpx2.HTTPError, OSError) as err:
            if isinstance(err, OSError) and not isinstance(err, ConnectionError) and err.errno is not None:
                raise DownloadError(f"Cannot write {part} ({err.strerror}); check the models folder.") from None
            raise DownloadError(
                f"The connection broke while downloading {name} ({format_bytes(done)} of "
                f"{format_bytes(remote.size)} kept); try again and it continues from there."
            ) from None
        size = part.stat().st_size
        if size != remote.size:
            if size > remote.size:
                part.unlink()
            raise DownloadError(
                f"The server sent {format_bytes(size)} of {name} instead of {format_bytes(remote.size)}; "
                "try again (what fits is kept)."
            )

    def _verify(
        self,
        entry: CatalogueEntry,
        remote: _Remote,
        part: Path,
        report: Callable[[Progress], None],
        cancel: threading.Event,
    ) -> None:
        report(Progress("verifying", 0, remote.size))
        try:
            actual = sha256_file(part, lambda n: report(Progress("verifying", n, remote.size)), cancelled=cancel.is_set)
        except InterruptedError:
            raise DownloadCancelled(
                f"Checking {entry.file.filename} was cancelled; the file is kept and is checked again next time."
            ) from None
        if actual != remote.sha256:
            part.unlink(missing_ok=True)
            self._meta_path(part).unlink(missing_ok=True)
            raise ChecksumError(
                f"{entry.file.filename} arrived damaged: its sha256 is {actual[:12]}…, the hub says "
                f"{remote.sha256[:12]}…; it was deleted, so download it again."
            )
