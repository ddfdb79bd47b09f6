"""Hardware fit: will a model run here, at which context, with how many GPU layers?

The rule (also in the README):

- memory needed = weights + f16 KV cache for the context + a runtime allowance
  (the same figures as the inspector's RAM estimate);
- with GPU offload and measurable GPU memory, layers go to the GPU while they
  fit in 90 % of its free memory, and only the rest counts against RAM;
- **fits**: what stays in RAM is at most 80 % of the RAM available now;
- **tight**: it is at most 90 % of total RAM (it runs, but other programs may
  have to close, or the system will swap);
- **will not fit**: more than that.

The label is judged at the context the user chose (8k tokens when none is set).
The proposed context is the largest of 32k/16k/8k/4k/2k tokens (capped by the
model's trained context) at which the model fits; if none fits, 2k. The
proposed GPU layers follow from the GPU budget above (0 without offload).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from functools import lru_cache

from app.core.gguf_info import RUNTIME_OVERHEAD_BYTES, ModelInfo
from app.core.models.catalogue import CatalogueEntry

log = logging.getLogger(__name__)

FITS_SHARE_OF_AVAILABLE = 0.8
TIGHT_SHARE_OF_TOTAL = 0.9
GPU_SHARE_OF_FREE = 0.9
CONTEXT_STEPS = (32_768, 16_384, 8_192, 4_096, 2_048)
# The label is judged at this context unless the user chose one (Qwen3's desktop default).
DEFAULT_CONTEXT = 8_192


class FitLabel(str, Enum):
    FITS = "fits"
    TIGHT = "tight"
    WONT_FIT = "will not fit"


@dataclass(frozen=True)
class Hardware:
    """Memory of this computer, in bytes; GPU figures are None when unknown."""

    total_ram: int
    available_ram: int
    gpu_offload: bool
    gpu_total: int | None = None
    gpu_free: int | None = None
    gpu_note: str = ""

    def describe(self) -> str:
        ram = f"RAM {_gb(self.available_ram)} free of {_gb(self.total_ram)}"
        if self.gpu_free is not None and self.gpu_total is not None:
            return f"{ram}; GPU {_gb(self.gpu_free)} free of {_gb(self.gpu_total)}"
        return f"{ram}; {self.gpu_note}"


@dataclass(frozen=True)
class ModelShape:
    """What the fit needs to know about a model (from GGUF metadata or the catalogue)."""

    weights: int
    layers: int
    kv_bytes_per_token: int
    trained_context: int

    @classmethod
    def from_info(cls, info: ModelInfo) -> ModelShape:
        return cls(
            weights=info.weights_bytes,
            layers=info.layers or 1,
            kv_bytes_per_token=info.kv_cache_bytes(1),
            trained_context=info.context_length or 4096,
        )

    @classmethod
    def from_catalogue(cls, entry: CatalogueEntry) -> ModelShape:
        return cls(
            weights=entry.approx_size,
            layers=entry.model.layers,
            kv_bytes_per_token=entry.model.kv_bytes_per_token(),
            trained_context=entry.model.context_length,
        )


@dataclass(frozen=True)
class Fit:
    """The verdict for one model at one context length."""

    label: FitLabel
    context_length: int
    needed: int  # bytes in total (weights + KV + allowance)
    in_ram: int  # of which stay in RAM
    gpu_layers: int  # proposed: 0 CPU only, -1 all, else a count
    proposed_context: int
    reason: str

    def summary(self) -> str:
        gpu = {0: "CPU only", -1: "all layers on the GPU"}.get(self.gpu_layers, f"{self.gpu_layers} GPU layers")
        return (
            f"{self.label.value}: needs about {_gb(self.needed)} at {self.context_length:,} tokens; "
            f"proposed context {self.proposed_context:,}, {gpu}"
        )


def _gb(n_bytes: int) -> str:
    return f"{n_bytes / 1024**3:.1f} GB"


NVIDIA_SMI_TIMEOUT = 5.0  # seconds; a wedged driver must not hang the probe
GPU_FACTS_MAX_AGE = 30.0  # seconds a measurement of GPU memory is reused


def parse_nvidia_smi(output: str) -> tuple[int, int] | None:
    """Total and free bytes over every GPU in ``nvidia-smi --query-gpu=memory.total,memory.free`` CSV
    (MiB, no header, no units); None for output that is not that.

    With several GPUs llama.cpp splits the layers across all of them, so their memory adds up.
    """
    total = free = 0
    rows = [line for line in output.splitlines() if line.strip()]
    if not rows:
        return None
    for row in rows:
        cells = [cell.strip() for cell in row.split(",")]
        if len(cells) != 2 or not all(cell.isdigit() for cell in cells):
            return None
        total += int(cells[0])
        free += int(cells[1])
    return total * 1024**2, free * 1024**2


def _nvidia_memory() -> tuple[int, int] | None:
    """Total and free memory of the NVIDIA GPUs, from nvidia-smi (a local command); None when unknown."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run(
            [exe, "--query-gpu=memory.total,memory.free", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT,
            check=True,
            stdin=subprocess.DEVNULL,
        ).stdout
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        log.warning("nvidia-smi did not report GPU memory", exc_info=True)
        return None
    parsed = parse_nvidia_smi(out)
    if parsed is None:
        log.warning("nvidia-smi printed something other than GPU memory: %r", out[:200])
    return parsed


class _GpuMemoryCache:
    """One nvidia-smi run per ``GPU_FACTS_MAX_AGE`` seconds for the whole process (thread-safe).

    The lock is held while measuring, so callers on several threads share one run.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._measured_at: float | None = None
        self._value: tuple[int, int] | None = None

    def fresh(self) -> bool:
        """Whether a measurement younger than the maximum age is at hand (no subprocess needed)."""
        with self._lock:
            return self._is_fresh()

    def _is_fresh(self) -> bool:
        return self._measured_at is not None and time.monotonic() - self._measured_at < GPU_FACTS_MAX_AGE

    def get(self, refresh: bool = False) -> tuple[int, int] | None:
        with self._lock:
            if refresh or not self._is_fresh():
                self._value = _nvidia_memory()
                self._measured_at = time.monotonic()
            return self._value

    def forget(self) -> None:
        with self._lock:
            self._measured_at, self._value = None, None


_gpu_memory = _GpuMemoryCache()


def forget_gpu_memory() -> None:
    """Drop the cached GPU measurement (tests; the next probe measures again)."""
    _gpu_memory.forget()


@lru_cache(maxsize=1)
def gpu_offload_supported() -> bool:
    """Whether the installed llama.cpp build can offload layers to a GPU."""
    try:
        import llama_cpp

        return bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:  # a broken native install: report no offload rather than crash
        log.warning("could not ask llama.cpp about GPU offload", exc_info=True)
        return False


def _measures_nvidia() -> bool:
    return gpu_offload_supported() and sys.platform != "darwin"


def hardware_is_cheap() -> bool:
    """Whether ``probe_hardware()`` would answer now without running nvidia-smi
    (no GPU to measure, or a measurement in the cache) - the GUI may then call it directly."""
    return not _measures_nvidia() or _gpu_memory.fresh()


def gpu_memory_measurable() -> bool:
    """Whether there is GPU memory to measure with nvidia-smi (an offloading build, not a Mac)."""
    return _measures_nvidia()


def cached_hardware() -> Hardware:
    """RAM now, and GPU memory only as far as the cache knows it: never runs nvidia-smi (the GUI thread)."""
    if _measures_nvidia() and not _gpu_memory.fresh():
        import psutil

        memory = psutil.virtual_memory()
        return Hardware(int(memory.total), int(memory.available), True, gpu_note="measuring GPU memory…")
    return probe_hardware()


def probe_hardware(refresh_gpu: bool = False) -> Hardware:
    """Measure RAM (psutil) and, where the build can offload, GPU memory.

    GPU memory comes from nvidia-smi at most once per ``GPU_FACTS_MAX_AGE`` seconds per process
    (``refresh_gpu`` measures again now); the run can take seconds, so the GUI calls this off its thread.
    """
    import psutil

    memory = psutil.virtual_memory()
    total, available = int(memory.total), int(memory.available)
    if not gpu_offload_supported():
        return Hardware(total, available, False, gpu_note="no GPU offload in this build (CPU only)")
    if sys.platform == "darwin":
        # Apple Silicon shares one memory between CPU and GPU: RAM is the budget.
        return Hardware(total, available, True, gpu_note="GPU shares the system memory (Metal)")
    nvidia = _gpu_memory.get(refresh_gpu)
    if nvidia is None:
        return Hardware(total, available, True, gpu_note="GPU offload available, but its memory could not be measured")
    return Hardware(total, available, True, gpu_total=nvidia[0], gpu_free=nvidia[1], gpu_note="NVIDIA GPU")


def _place(shape: ModelShape, context: int, hardware: Hardware) -> tuple[int, int, int]:
    """Total need, bytes left in RAM, and proposed GPU layers at ``context``."""
    kv = shape.kv_bytes_per_token * context
    needed = shape.weights + kv + RUNTIME_OVERHEAD_BYTES
    if not hardware.gpu_offload or hardware.gpu_free is None:
        return needed, needed, 0
    budget = int(hardware.gpu_free * GPU_SHARE_OF_FREE) - RUNTIME_OVERHEAD_BYTES
    per_layer = (shape.weights + kv) / shape.layers
    layers = max(0, min(shape.layers, int(budget // per_layer))) if budget > 0 else 0
    if layers == shape.layers:
        return needed, RUNTIME_OVERHEAD_BYTES, -1
    return needed, needed - int(layers * per_layer), layers


def completion_reserve(model_path: str | None) -> int:
    """RAM the completion model needs beside the chat model: its file, a 4k-token KV cache
    allowance and the runtime (0 when completion is off or the file is gone)."""
    if not model_path:
        return 0
    try:
        size = os.stat(model_path).st_size
    except OSError:
        return 0
    return size + RUNTIME_OVERHEAD_BYTES


def _label(in_ram: int, hardware: Hardware) -> FitLabel:
    if in_ram <= hardware.available_ram * FITS_SHARE_OF_AVAILABLE:
        return FitLabel.FITS
    if in_ram <= hardware.total_ram * TIGHT_SHARE_OF_TOTAL:
        return FitLabel.TIGHT
    return FitLabel.WONT_FIT


def assess_fit(
    shape: ModelShape,
    hardware: Hardware,
    context_length: int | None = None,
    steps: Sequence[int] = CONTEXT_STEPS,
    reserved: int = 0,
) -> Fit:
    """Label a model for this hardware and propose a context length and GPU layers.

    ``context_length`` is the one the user chose (None: 8k tokens, capped by the trained context).
    ``reserved`` is RAM another model loaded beside it needs (the completion model beside the
    chat model): the fit counts both.
    """
    if reserved > 0:
        hardware = replace(hardware, available_ram=max(0, hardware.available_ram - reserved))
    candidates = sorted({min(step, shape.trained_context) for step in steps}, reverse=True)
    proposed = candidates[-1]
    for candidate in candidates:
        _, in_ram, _ = _place(shape, candidate, hardware)
        if _label(in_ram, hardware) is FitLabel.FITS:
            proposed = candidate
            break
    context = context_length or min(DEFAULT_CONTEXT, shape.trained_context)
    needed, in_ram, gpu_layers = _place(shape, context, hardware)
    label = _label(in_ram, hardware)
    if label is FitLabel.FITS:
        reason = f"{_gb(in_ram)} in RAM is within 80 % of the {_gb(hardware.available_ram)} available"
    elif label is FitLabel.TIGHT:
        reason = (
            f"{_gb(in_ram)} in RAM is more than 80 % of the {_gb(hardware.available_ram)} available; "
            "close other programs or choose a smaller context"
        )
    else:
        reason = f"{_gb(in_ram)} in RAM is more than 90 % of this computer's {_gb(hardware.total_ram)}"
    if reserved > 0:
        reason += f" (after {_gb(reserved)} for the completion model)"
        if label is FitLabel.WONT_FIT or in_ram + reserved > hardware.total_ram * TIGHT_SHARE_OF_TOTAL:
            label = FitLabel.WONT_FIT
    return Fit(label, context, needed, in_ram, gpu_layers, proposed, reason)
