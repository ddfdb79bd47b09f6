"""Logging goes to a rotating file in the data folder; versions are reported."""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.logging_setup import configure_logging
from app.core.paths import app_paths
from app.core.versions import version_info


def test_log_file_in_data_dir(isolated_home: Path) -> None:
    paths = app_paths()
    handler = configure_logging(paths)
    assert handler is not None
    try:
        logging.getLogger("app.test").info("hello from the test")
        handler.flush()
        assert "hello from the test" in paths.log_file.read_text()
    finally:
        logging.getLogger("app").removeHandler(handler)
        handler.close()


def test_unwritable_log_dir_does_not_stop_the_app(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("QUILLPAD_DATA_DIR", str(blocker))
    assert configure_logging(app_paths()) is None


def test_version_info_names_llama_cpp() -> None:
    info = version_info()
    assert info.error is None
    assert info.llama_cpp_python == "0.3.36"
    assert info.llama_cpp and info.llama_cpp[0].isdigit()
    assert info.system_info and "CPU" in info.system_info  # llama.cpp's build features
    assert isinstance(info.gpu_offload, bool)
    text = "\n".join(info.lines())
    assert "llama-cpp-python 0.3.36" in text and "GPU offload" in text
