"""Versions of the app and of the inference libraries it was built with.

Only llama-cpp-python's public bindings are used. Its ggml library version
and commit are reachable only through the private ``llama_cpp._ggml``, so
they are not reported: llama.cpp's own version and build features stand in,
and the exact pin of llama-cpp-python (pyproject) fixes which llama.cpp
source it builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class VersionInfo:
    """What ``quillpad --version`` reports."""

    app: str
    llama_cpp_python: str | None
    llama_cpp: str | None  # llama.cpp's own version string ("0.5.0-dev")
    system_info: str | None  # llama.cpp's build features: CPU instruction sets, backends
    gpu_offload: bool | None
    error: str | None = None

    def lines(self) -> list[str]:
        lines = [f"Quillpad {self.app}"]
        if self.error:
            lines.append(f"llama-cpp-python: unavailable ({self.error})")
            return lines
        lines.append(f"llama-cpp-python {self.llama_cpp_python}")
        lines.append(f"llama.cpp {self.llama_cpp or 'unknown'}")
        if self.system_info:
            lines.append(f"llama.cpp build: {self.system_info}")
        offload = "yes" if self.gpu_offload else "no (CPU only)"
        lines.append(f"GPU offload: {offload}")
        return lines


def app_version() -> str:
    """The installed distribution's version, or a marker for a source tree."""
    try:
        return metadata.version("quillpad")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _text(value: bytes | None) -> str | None:
    text = value.decode("utf-8", errors="replace").strip(" |\n") if value else ""
    return " ".join(text.split()) or None


def version_info() -> VersionInfo:
    """Collect versions; importing llama.cpp loads its shared libraries."""
    try:
        import llama_cpp
    except Exception as err:  # a broken native install must still print versions
        return VersionInfo(app_version(), None, None, None, None, error=str(err))
    return VersionInfo(
        app=app_version(),
        llama_cpp_python=llama_cpp.__version__,
        llama_cpp=_text(llama_cpp.llama_version()),
        system_info=_text(llama_cpp.llama_print_system_info()),
        gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
    )
