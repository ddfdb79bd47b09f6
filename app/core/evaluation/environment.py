"""Facts that make a run reproducible: the model file, the software, the machine."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from app.core.gguf_header import ArrayValue, read_gguf_header
from app.core.gguf_info import inspect_model
from app.core.paths import app_paths

_SHORT_ARRAY = 16  # metadata arrays longer than this (vocabularies) are summarised


def _cache_file() -> Path:
    return app_paths().cache_dir / "evaluation-sha256.json"


def file_sha256(path: str | Path) -> str:
    """The file's sha256, remembered per (path, size, mtime) so a resumed run does not re-read gigabytes."""
    file = Path(path)
    stat = file.stat()
    key = f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        cache = json.loads(_cache_file().read_text(encoding="utf-8"))
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    if isinstance(cache.get(key), str):
        return str(cache[key])
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(8 * 1024 * 1024), b""):
            digest.update(block)
    cache[key] = digest.hexdigest()
    with contextlib.suppress(OSError):
        _cache_file().parent.mkdir(parents=True, exist_ok=True)
        _cache_file().write_text(json.dumps(cache, indent=1), encoding="utf-8")
    return str(cache[key])


def _plain(value: Any) -> Any:
    if isinstance(value, ArrayValue):
        if value.values is not None and value.length <= _SHORT_ARRAY:
            return [_plain(v) for v in value.values]
        return f"<array of {value.length} {value.item_type.name.lower()}>"
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def gguf_metadata(path: str | Path) -> dict[str, Any]:
    """The header's key/value metadata, long arrays summarised and the chat template left out."""
    header = read_gguf_header(path)
    return {
        key: _plain(value)
        for key, value in sorted(header.metadata.items())
        if key == "tokenizer.ggml.model" or (key != "tokenizer.chat_template" and not key.startswith("tokenizer.ggml."))
    }


def model_facts(path: str | Path) -> dict[str, Any]:
    """Name, size, sha256, quantisation and metadata of a GGUF file."""
    info = inspect_model(path, check_loadable=False)
    return {
        "file_name": Path(path).name,
        "path": str(Path(path).resolve()),
        "size_bytes": info.file_size,
        "sha256": file_sha256(path),
        "name": info.display_name,
        "architecture": info.architecture,
        "parameters": info.parameter_count,
        "quantization": info.quantization,
        "is_moe": info.is_moe,
        "experts": info.expert_count,
        "experts_used": info.experts_used,
        "training_context": info.context_length,
        "gguf_version": info.gguf_version,
        "metadata": gguf_metadata(path),
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_facts() -> dict[str, Any]:
    """The machine: CPU, cores, memory, OS, Python."""
    import psutil

    return {
        "cpu": _cpu_model(),
        "machine": platform.machine(),
        "physical_cores": psutil.cpu_count(logical=False),
        "logical_cores": os.cpu_count(),
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": sys.version.split()[0],
    }


def software_facts() -> dict[str, Any]:
    """App, llama-cpp-python and llama.cpp versions, GPU offload support."""
    from app.core.versions import version_info

    versions = version_info()
    return {
        "quillpad": versions.app,
        "llama_cpp_python": versions.llama_cpp_python,
        "llama_cpp": versions.llama_cpp,
        "llama_cpp_build": versions.system_info,
        "gpu_offload_supported": versions.gpu_offload,
    }
