"""Hardware fit: labels, proposed context and GPU layers, from GGUF metadata or the catalogue."""

from __future__ import annotations

from pathlib import Path

from app.core.gguf_info import inspect_model
from app.core.models.catalogue import load_catalogue
from app.core.models.hardware import FitLabel, Hardware, ModelShape, assess_fit, probe_hardware

GiB = 1024**3


def _cpu(total_gb: float, free_gb: float) -> Hardware:
    return Hardware(int(total_gb * GiB), int(free_gb * GiB), False, gpu_note="no GPU offload in this build (CPU only)")


def test_the_catalogue_recommendations_match_the_labels() -> None:
    catalogue = load_catalogue()
    laptop16 = _cpu(16, 12)
    laptop8 = _cpu(8, 5)
    eight = ModelShape.from_catalogue(catalogue.resolve("qwen3-8b"))
    small = ModelShape.from_catalogue(catalogue.resolve("qwen3-1.7b"))
    big = ModelShape.from_catalogue(catalogue.resolve("qwen3-32b"))
    assert assess_fit(eight, laptop16).label is FitLabel.FITS
    assert assess_fit(eight, laptop8).label is FitLabel.TIGHT  # 6.1 GB of 8: runs, with little else open
    assert assess_fit(ModelShape.from_catalogue(catalogue.resolve("qwen3-14b")), laptop8).label is FitLabel.WONT_FIT
    assert assess_fit(small, laptop8).label is FitLabel.FITS
    assert assess_fit(big, laptop16).label is FitLabel.WONT_FIT
    # 8B with 10 GB free: 32k tokens (9.4 GB) is over 80 % of it; 16k (7.2 GB) is not.
    fit = assess_fit(eight, _cpu(16, 10))
    assert fit.context_length == 8192 and fit.proposed_context == 16_384 and fit.gpu_layers == 0


def test_tight_when_it_only_fits_by_closing_other_programs() -> None:
    eight = ModelShape.from_catalogue(load_catalogue().resolve("qwen3-8b"))
    fit = assess_fit(eight, _cpu(16, 6))
    assert fit.label is FitLabel.TIGHT
    assert "close other programs" in fit.reason
    assert fit.summary().startswith("tight: needs about")


def test_gpu_memory_takes_layers_off_the_ram() -> None:
    shape = ModelShape(weights=8 * GiB, layers=32, kv_bytes_per_token=128 * 1024, trained_context=32_768)
    no_gpu = assess_fit(shape, _cpu(8, 6))
    assert no_gpu.label is FitLabel.WONT_FIT and no_gpu.gpu_layers == 0
    half = Hardware(8 * GiB, 6 * GiB, True, gpu_total=6 * GiB, gpu_free=5 * GiB, gpu_note="NVIDIA GPU")
    split = assess_fit(shape, half)
    assert 0 < split.gpu_layers < 32 and split.label is not FitLabel.WONT_FIT
    assert split.in_ram < split.needed
    big = Hardware(8 * GiB, 6 * GiB, True, gpu_total=24 * GiB, gpu_free=22 * GiB, gpu_note="NVIDIA GPU")
    whole = assess_fit(shape, big)
    assert whole.gpu_layers == -1 and whole.label is FitLabel.FITS


def test_fit_from_real_gguf_metadata_and_this_machine(qwen3_gguf: Path) -> None:
    info = inspect_model(qwen3_gguf, check_loadable=False)
    hardware = probe_hardware()
    assert hardware.total_ram >= hardware.available_ram > 0
    if not hardware.gpu_offload:  # this CI machine: a CPU-only llama.cpp build
        assert hardware.describe().endswith("no GPU offload in this build (CPU only)")
    fit = assess_fit(ModelShape.from_info(info), hardware)
    assert fit.label is FitLabel.FITS
    assert fit.needed == info.estimate_ram(fit.context_length).total
    assert fit.proposed_context == min(32_768, info.context_length or 4096)


def test_the_fit_counts_the_completion_model_beside_the_chat_model(tmp_path: Path) -> None:
    from app.core.models.hardware import completion_reserve
    from app.core.models.library import ModelLibrary

    catalogue = load_catalogue()
    eight = ModelShape.from_catalogue(catalogue.resolve("qwen3-8b"))
    laptop = _cpu(16, 9)
    alone = assess_fit(eight, laptop)
    coder = tmp_path / "coder.gguf"
    with coder.open("wb") as handle:  # a sparse 2 GB file: only its size matters here
        handle.truncate(2 * GiB)
    reserve = completion_reserve(str(coder))
    assert reserve > 2 * GiB and completion_reserve(None) == 0 and completion_reserve(str(tmp_path / "gone")) == 0
    beside = assess_fit(eight, laptop, reserved=reserve)
    assert alone.label is FitLabel.FITS and beside.label is FitLabel.TIGHT
    assert "for the completion model" in beside.reason
    # The library passes the reserve for every chat model, not for the completion model itself.
    library = ModelLibrary(tmp_path / "models", completion_model=str(coder))
    rows = {row.entry.id: row.fit for row in library.catalogue_rows(laptop)}
    assert rows["qwen3-8b-q4_k_m"].label is FitLabel.TIGHT
    assert "completion model" not in ModelLibrary(tmp_path / "m2").catalogue_rows(laptop)[3].fit.reason
