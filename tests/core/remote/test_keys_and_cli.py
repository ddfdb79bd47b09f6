"""API keys in the keyring (never in settings), and ``quillpad chat --server``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from app.cli import main
from app.core.bench.llama_server import LlamaServer
from app.core.paths import app_paths
from app.core.remote.keys import SERVICE, SESSION_ONLY, KeyStore
from app.core.settings import ConnectionProfile, ConnectionSettings, Settings, load_settings, save_settings
from tests.core.remote.conftest import API_KEY


def test_keys_go_to_the_keyring_under_the_normalised_url(memory_keyring: dict[tuple[str, str], str]) -> None:
    store = KeyStore()
    assert store.set("http://gpu-box:8000", "sk-secret") is None
    assert memory_keyring == {(SERVICE, "http://gpu-box:8000/v1"): "sk-secret"}
    assert KeyStore().get("http://gpu-box:8000/v1/") == "sk-secret"  # a new store reads it back
    store.set("http://gpu-box:8000/v1", "")  # empty forgets it
    assert memory_keyring == {} and store.get("http://gpu-box:8000") is None


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_without_a_keyring_the_key_lasts_the_session_only(no_keyring: None) -> None:
    store = KeyStore()
    assert store.set("http://127.0.0.1:8080", "sk-session") == SESSION_ONLY
    assert store.get("http://127.0.0.1:8080/v1") == "sk-session"
    assert KeyStore().get("http://127.0.0.1:8080/v1") is None  # nothing was written anywhere


def test_settings_file_holds_the_server_but_never_a_key(memory_keyring: dict[tuple[str, str], str]) -> None:
    paths = app_paths()
    server = ConnectionProfile(name="GPU box", base_url="http://127.0.0.1:8080/v1", model="qwen3")
    settings = Settings(connections=ConnectionSettings(profiles=[server], active="GPU box"))
    KeyStore().set_profile(server.name, server.base_url, "sk-do-not-write")
    save_settings(paths, settings)
    text = paths.settings_file.read_text(encoding="utf-8")
    assert "sk-do-not-write" not in text
    assert load_settings(paths).settings.connections == settings.connections
    for folder in (paths.config_dir, paths.data_dir):
        for file in Path(folder).rglob("*"):
            if file.is_file():
                assert b"sk-do-not-write" not in file.read_bytes(), file


def run_cli(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "QUILLPAD_API_KEY"}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_cli_chat_with_a_server_and_a_key_from_the_environment(
    keyed_llama_server: LlamaServer, isolated_home: Path
) -> None:
    url = keyed_llama_server.base_url
    result = run_cli(
        "chat", "--server", url, "--json", "--max-tokens", "6", "hello", "again",
        env_extra={"QUILLPAD_API_KEY": API_KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[0]["type"] == "notice" and events[0]["message"].startswith("Connected to tiny-qwen3 @ 127.0.0.1")
    assert [e["turn"] for e in events if e["type"] == "done"] == [1, 2]
    assert {e["type"] for e in events} <= {"notice", "text", "thinking", "stats", "done"}
    assert API_KEY not in result.stdout + result.stderr
    written = [f for f in isolated_home.rglob("*") if f.is_file()]
    assert any(f.suffix == ".log" for f in written)  # the app did log this run...
    assert not [f for f in written if API_KEY.encode() in f.read_bytes()]  # ...but never the key


def test_cli_refusals_are_one_line(
    keyed_llama_server: LlamaServer, capsys: pytest.CaptureFixture[str], no_starter: None
) -> None:
    url = keyed_llama_server.base_url
    assert main(["chat", "--server", url, "--api-key", "wrong-key", "hi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused the API key (HTTP 401)" in err and "wrong-key" not in err
    assert main(["chat", "--server", url, "--api-key", API_KEY, "--model", "nope", "hi"]) == 2
    assert "no model named 'nope'; it offers: tiny-qwen3." in capsys.readouterr().err
    assert main(["chat", "hi"]) == 2
    assert "--server URL" in capsys.readouterr().err


def test_cli_uses_the_key_saved_in_the_keyring(
    keyed_llama_server: LlamaServer, memory_keyring: dict[tuple[str, str], str], capsys: pytest.CaptureFixture[str]
) -> None:
    KeyStore().set(keyed_llama_server.base_url, API_KEY)
    assert main(["chat", "--server", keyed_llama_server.base_url, "--max-tokens", "4", "hi"]) == 0
    assert capsys.readouterr().out.strip()


def test_bench_remote_reports_both_paths(qwen3_gguf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "remote", "--model", str(qwen3_gguf), "--rounds", "1", "--tokens", "4"]) == 0
    out = capsys.readouterr().out
    server_row = next(line for line in out.splitlines() if line.startswith("server (127.0.0.1:"))
    engine_row = next(line for line in out.splitlines() if line.startswith("local engine"))
    for row in (server_row, engine_row):
        ttft, _, tps, stop, _ = row.split()[-5:]
        assert float(ttft) > 0 and float(tps) > 0 and float(stop) >= 0
