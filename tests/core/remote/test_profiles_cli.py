"""``quillpad chat --profile NAME``: a saved profile's server, model and key, against llama-cpp-python's server."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import main
from app.core.bench.llama_server import LlamaServer
from app.core.paths import app_paths
from app.core.remote.keys import KeyStore
from app.core.settings import LOCAL_PROFILE, ConnectionProfile, ConnectionSettings, Settings, save_settings
from tests.core.remote.conftest import API_KEY


def save_profiles(*servers: ConnectionProfile) -> None:
    profiles = [ConnectionProfile(name=LOCAL_PROFILE, backend="local"), *servers]
    save_settings(app_paths(), Settings(connections=ConnectionSettings(profiles=profiles)))


def test_chat_with_a_saved_profile_and_its_key(
    keyed_llama_server: LlamaServer,
    memory_keyring: dict[tuple[str, str], str],
    capsys: pytest.CaptureFixture[str],
    isolated_home: Path,
) -> None:
    url = keyed_llama_server.base_url
    save_profiles(
        ConnectionProfile(name="Team vLLM", base_url=url, model="tiny-qwen3"),
        ConnectionProfile(name="No key", base_url=url),  # the same server, but no key of its own
    )
    KeyStore().set_profile("Team vLLM", url, API_KEY)

    assert main(["chat", "--profile", "Team vLLM", "--max-tokens", "4", "hi"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() and f"Connected to tiny-qwen3 @ 127.0.0.1:{keyed_llama_server.port}" in captured.err
    logs = [f for f in isolated_home.rglob("*") if f.is_file()]
    assert not [f for f in logs if API_KEY.encode() in f.read_bytes()]

    # Another profile on the same server does not borrow the key.
    assert main(["chat", "--profile", "No key", "--max-tokens", "4", "hi"]) == 2
    assert "needs an API key (HTTP 401)" in capsys.readouterr().err
    # --model overrides the profile's model for one run.
    assert main(["chat", "--profile", "team vllm", "--model", "nope", "hi"]) == 2
    assert "no model named 'nope'; it offers: tiny-qwen3." in capsys.readouterr().err
    # --server still works ad hoc, and finds the key a profile on that server saved.
    assert main(["chat", "--server", url, "--max-tokens", "4", "hi"]) == 0
    assert capsys.readouterr().out.strip()


def test_an_unknown_profile_is_one_line_listing_the_saved_ones(capsys: pytest.CaptureFixture[str]) -> None:
    save_profiles(ConnectionProfile(name="Ollama box", base_url="http://127.0.0.1:9/v1"))
    assert main(["chat", "--profile", "Team", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no connection profile named 'Team'; the saved ones are: 'This computer', 'Ollama box'." in err
    with pytest.raises(SystemExit):  # one or the other, not both
        main(["chat", "--profile", "Ollama box", "--server", "http://127.0.0.1:9", "hi"])


def test_the_local_profile_runs_the_gguf_file(
    qwen3_gguf: Path, capsys: pytest.CaptureFixture[str], no_starter: None
) -> None:
    assert main(["chat", "--profile", LOCAL_PROFILE, "--max-tokens", "4", "hi"]) == 2
    assert "--model FILE.gguf" in capsys.readouterr().err
    args = ["chat", "--profile", LOCAL_PROFILE, "--model", str(qwen3_gguf), "--max-tokens", "4", "--seed", "1", "hi"]
    assert main(args) == 0
    assert capsys.readouterr().out.strip()
