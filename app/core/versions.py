"""Versions of the app and of the inference libraries it was built with."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class VersionInfo:
    """What ``quillpad --version`` reports."""

    app: str
    llama_cpp_python: str | None
    ggml: str | None
    ggml_commit: str | None
    gpu_offload: bool | None
    error: str | None = None

    def lines(self) -> list[str]:
        lines = [f"Quillpad {self.app}"]
        if self.error:
            lines.append(f"llama-cpp-python: unavailable ({self.error})")
            return lines
        lines.append(f"llama-cpp-python {self.llama_cpp_python}")
        build = self.ggml or "unknown"
        if self.ggml_commit and self.ggml_commit != "unknown":
            build += f" (commit {self.ggml_commit})"
        lines.append(f"llama.cpp / ggml {build}")
        offload = "yes" if self.gpu_offload else "no (CPU only)"
        lines.append(f"GPU offload: {offload}")
        return lines


def app_version() -> str:
    """The installed distribution's version, or a marker for a source tree."""
    try:
        return metadata.version("quillpad")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _ggml_string(lib: ctypes.CDLL, symbol: str) -> str | None:
    func = getattr(lib, symbol, None)
    if func is None:
        return None
    func.restype = ctypes.c_char_p
    func.argtypes = []
    value = func()
    return value.decode("utf-8", errors="replace") if value else None


def version_info() -> VersionInfo:
    """Collect versions; importing llama.cpp loads its shared libraries."""
    try:
        import llama_cpp
        from llama_cpp._ggml import libggml
    except Exception as err:  # a broken native install must still print versions
        return VersionInfo(app_version(), None, None, None, None, error=str(err))
    return VersionInfo(
        app=app_version(),
        llama_cpp_python=llama_cpp.__version__,
        ggml=_ggml_string(libggml, "ggml_version"),
        ggml_commit=_ggml_string(libggml, "ggml_commit"),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
    )
