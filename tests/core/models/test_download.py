"""Downloads against a local hub on 127.0.0.1: complete, resumed, damaged, stalled, no disk space."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from app.core.gguf_info import inspect_model
from app.core.models.catalogue import CatalogueEntry
from app.core.models.download import (
    ChecksumError,
    DownloadCancelled,
    Downloader,
    DownloadError,
    NotEnoughSpaceError,
    OfflineError,
    Progress,
)
from app.core.models.registry import ModelRegistry
from tests.core.models.conftest import FILENAME, REPO
from tests.fixtures.hub_server import FakeHub


def _gguf_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.gguf"))


def test_complete_download_is_verified_installed_and_inspectable(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry, qwen3_gguf: Path
) -> None:
    reports: list[Progress] = []
    path = Downloader(registry).download(entry, reports.append)

    assert path == registry.folder / FILENAME
    assert path.read_bytes() == qwen3_gguf.read_bytes()
    assert reports[0].phase == "connecting"
    assert reports[-1].phase == "done"
    downloading = [r for r in reports if r.phase == "downloading"]
    assert downloading and downloading[-1].done == downloading[-1].total == len(path.read_bytes())
    assert "of" in downloading[-1].line() and "/s" in downloading[-1].line()
    assert any(r.phase == "verifying" for r in reports)
    # The hub's metadata call and one plain GET, both against 127.0.0.1; no telemetry request.
    assert [m for m, _, _ in hub.requests] == ["HEAD", "GET"]
    assert hub.requests[0][1] == f"/{REPO}/resolve/main/{FILENAME}"
    (model,) = registry.installed()
    assert model.source == "download" and model.id == "qwen3-tiny-q8_0"
    assert model.sha256 == hashlib.sha256(qwen3_gguf.read_bytes()).hexdigest()
    assert inspect_model(path, check_loadable=False).architecture == "qwen3"
    assert registry.verify("qwen3-tiny-q8_0").path == str(path)
    assert not list(registry.partial_dir.iterdir())


def test_interrupted_download_resumes_with_a_range_request_after_restart(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry, qwen3_gguf: Path
) -> None:
    hub.drop_after = 60_000
    with pytest.raises(DownloadError, match="continues from there"):
        Downloader(registry).download(entry)
    part = registry.partial_dir / (FILENAME + ".part")
    kept = part.stat().st_size
    assert 0 < kept <= 60_000
    assert _gguf_names(registry.folder) == []  # a partial file is never offered
    assert registry.installed() == []

    # A new Downloader and registry object: as after an app restart.
    path = Downloader(ModelRegistry(registry.folder)).download(entry)
    assert path.read_bytes() == qwen3_gguf.read_bytes()
    last_get = [r for r in hub.requests if r[0] == "GET"][-1]
    assert last_get[2] == f"bytes={kept}-"
    assert not part.exists()


def test_wrong_checksum_discards_the_file_with_a_clear_error(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry, qwen3_gguf: Path
) -> None:
    hub.add(REPO, FILENAME, qwen3_gguf.read_bytes(), sha256="ab" * 32)
    with pytest.raises(ChecksumError, match=r"arrived damaged.*deleted, so download it again"):
        Downloader(registry).download(entry)
    assert _gguf_names(registry.folder) == []
    assert not any(registry.partial_dir.iterdir())
    assert registry.installed() == []


def test_a_server_that_stops_answering_times_out_with_a_clear_error(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry
) -> None:
    hub.stall_get_after = 40_000
    with pytest.raises(DownloadError, match=r"stopped sending .*nothing for 1 s"):
        Downloader(registry, read_timeout=1).download(entry)
    assert (registry.partial_dir / (FILENAME + ".part")).stat().st_size == 40_000
    assert registry.installed() == []


def test_a_hub_that_never_answers_the_metadata_request_times_out(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry
) -> None:
    hub.stall_head = True
    with pytest.raises(DownloadError, match=r"did not answer within 1 s"):
        Downloader(registry, connect_timeout=1).download(entry)


def test_not_enough_disk_space_refuses_before_downloading(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry
) -> None:
    with pytest.raises(NotEnoughSpaceError, match=r"Not enough disk space for Qwen3-Tiny-Q8_0.gguf"):
        Downloader(registry, free_space=lambda _p: 10_000).download(entry)
    assert [m for m, _, _ in hub.requests] == ["HEAD"]  # no GET was made


def test_cancel_keeps_the_partial_file_for_later(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry, qwen3_gguf: Path
) -> None:
    hub.bytes_per_second = 200_000
    cancel = threading.Event()

    def on_progress(report: Progress) -> None:
        if report.phase == "downloading" and report.done > 20_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled"):
        Downloader(registry).download(entry, on_progress, cancel)
    assert (registry.partial_dir / (FILENAME + ".part")).stat().st_size < len(qwen3_gguf.read_bytes())
    assert registry.installed() == []


def test_offline_refuses_without_any_request(hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry) -> None:
    with pytest.raises(OfflineError, match="offline"):
        Downloader(registry, offline=True).download(entry)
    assert hub.requests == []


def test_a_file_missing_on_the_hub_is_a_clear_error(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry
) -> None:
    hub.files.clear()
    with pytest.raises(DownloadError, match=r"has no file Qwen3-Tiny-Q8_0.gguf on the hub"):
        Downloader(registry).download(entry)


def test_a_server_that_ignores_the_range_header_restarts_the_file_cleanly(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry, qwen3_gguf: Path
) -> None:
    hub.drop_after = 50_000
    with pytest.raises(DownloadError):
        Downloader(registry).download(entry)
    hub.ignore_range = True
    path = Downloader(registry).download(entry)
    assert path.read_bytes() == qwen3_gguf.read_bytes()  # not the old half followed by the whole file


def test_a_refused_download_keeps_what_arrived_and_says_why(
    hub: FakeHub, registry: ModelRegistry, entry: CatalogueEntry
) -> None:
    hub.drop_after = 50_000
    with pytest.raises(DownloadError):
        Downloader(registry).download(entry)
    kept = (registry.partial_dir / (FILENAME + ".part")).stat().st_size
    hub.get_status = 403
    with pytest.raises(DownloadError, match=r"refused Qwen3-Tiny-Q8_0.gguf \(HTTP 403\); try again"):
        Downloader(registry).download(entry)
    assert (registry.partial_dir / (FILENAME + ".part")).stat().st_size == kept
