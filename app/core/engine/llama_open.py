"""Open a llama.cpp model the same way everywhere, around llama.cpp's miscompiled AMX kernels.

On Intel CPUs with AMX (Xeon 4th generation and later), a llama.cpp built with
``-march=native`` puts Q4_0/Q4_1/Q8_0/K-quant weights in its AMX buffer type,
whose kernels load each thread's tile configuration from a struct on the stack.
GCC 12 (Debian 12's compiler) drops the stores that fill that struct, so the
first tile instruction raises SIGILL and every reply of a quantised model
crashes (llama.cpp PR #26954, unmerged; measured here with the pinned
llama-cpp-python 0.3.36 and the starter model). llama.cpp's own switch for
this is the model parameter ``use_extra_bufts``; the ``Llama`` class does not
take it as an argument, so while a model opens, llama-cpp-python's default
model parameters come with it turned off. The cost is llama.cpp's weight
repacking on those CPUs only; no other machine is touched.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import llama_cpp

_PATCH_LOCK = threading.Lock()  # one open at a time may swap the default parameters
_CPUINFO = Path("/proc/cpuinfo")


@functools.cache
def amx_kernels_can_run() -> bool:
    """True when this llama.cpp build has AMX kernels and this CPU would run them."""
    import llama_cpp.llama_cpp as llama_low  # imported when needed: loading llama.cpp takes a while

    info = llama_low.llama_print_system_info().decode("utf-8", "replace")
    if "AMX_INT8 = 1" not in info:
        return False
    if not sys.platform.startswith("linux"):
        return True  # no cheap way to ask the CPU; llama.cpp uses AMX wherever it was built in
    try:
        cpuinfo = _CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    # The kernel lists amx_int8 only when it lets processes use the tiles; without it
    # llama.cpp's own check refuses AMX and nothing needs avoiding.
    return any(line.startswith("flags") and " amx_int8" in line for line in cpuinfo.splitlines())


@contextlib.contextmanager
def model_defaults(*, extra_buffers: bool | None = None) -> Iterator[None]:
    """While open, models load with llama.cpp's extra buffer types only when they are safe.

    ``extra_buffers`` None decides by ``amx_kernels_can_run``; True or False forces it.
    """
    if extra_buffers is None:
        extra_buffers = not amx_kernels_can_run()
    if extra_buffers:
        yield
        return
    import llama_cpp.llama_cpp as llama_low

    with _PATCH_LOCK:
        default = llama_low.llama_model_default_params

        def without_extra_buffers() -> Any:
            params = default()
            params.use_extra_bufts = False
            return params

        llama_low.llama_model_default_params = without_extra_buffers
        try:
            yield
        finally:
            llama_low.llama_model_default_params = default


def open_llama(model_path: str | Path, *, extra_buffers: bool | None = None, **options: Any) -> llama_cpp.Llama:
    """``llama_cpp.Llama(model_path, **options)``, with extra buffer types off where they crash."""
    import llama_cpp

    with model_defaults(extra_buffers=extra_buffers):
        return llama_cpp.Llama(model_path=str(model_path), **options)
