"""Saved engine states: restored after a restart and a conversation switch; bad files and budgets.

Real tiny models in a real worker; a bad state file must never change the
reply: it equals, byte for byte at a fixed seed, the reply of an engine that
never saw the file.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from app.core.engine import ChatMessage, ChatRequest, Done, Engine, EngineEvent, LoadOptions, Notice, Stats
from app.core.engine.state_cache import CacheConfig, StateCache
from app.core.engine.state_files import MAGIC, SUFFIX, StateIdentity, read_header
from app.core.paths import app_paths
from tests.fixtures.tiny_gguf import TinySpec, write_tiny_model

WITH_DISK = LoadOptions(threads=1, state_disk_mb=64)
NO_CACHE = LoadOptions(threads=1, state_ram_mb=0, state_disk_mb=0)
LONG = "please explain the code and the math of this import in detail " * 3


def states_dir() -> Path:
    return app_paths().cache_dir / "prompt-states"


def state_files() -> list[Path]:
    return sorted(states_dir().glob(f"*{SUFFIX}")) if states_dir().exists() else []


def turn(eng: Engine, messages: tuple[ChatMessage, ...], seed: int = 7) -> tuple[Done, Stats, list[EngineEvent]]:
    events = list(eng.chat(ChatRequest(messages, max_tokens=16, seed=seed, thinking=False)))
    done, stats = events[-1], events[-2]
    assert isinstance(done, Done) and isinstance(stats, Stats)
    return done, stats, events


def first_turn(model: Path, options: LoadOptions, text: str = LONG) -> tuple[ChatMessage, ...]:
    """A first exchange with state saving on; returns the conversation with a second question."""
    with Engine() as eng:
        eng.load(model, options)
        done, _stats, _ = turn(eng, (ChatMessage("user", text),))
    return (ChatMessage("user", text), ChatMessage("assistant", done.answer), ChatMessage("user", "and the tests?"))


def recomputed(model: Path, messages: tuple[ChatMessage, ...]) -> Done:
    with Engine() as eng:
        eng.load(model, NO_CACHE)
        done, stats, _ = turn(eng, messages)
        assert stats.prompt_tokens_reused == 0
        return done


def test_reopened_engine_evaluates_only_the_new_turn(qwen3_gguf: Path) -> None:
    conversation = first_turn(qwen3_gguf, WITH_DISK)
    assert len(state_files()) == 1
    with Engine() as eng:
        eng.load(qwen3_gguf, WITH_DISK)
        done, stats, _ = turn(eng, conversation)
    first_prompt = len(LONG) // 8  # far more than the new turn's tokens
    assert stats.prompt_tokens_reused > first_prompt
    assert stats.prompt_tokens_evaluated < stats.prompt_tokens - first_prompt
    # Same as if the app had stayed open (the KV cache then holds the same state).
    with Engine() as eng:
        eng.load(qwen3_gguf, NO_CACHE)
        first, _s, _ = turn(eng, conversation[:1])
        assert first.answer == conversation[1].content
        stayed, _s, _ = turn(eng, conversation)
    assert done.answer == stayed.answer


def test_switching_conversations_restores_from_ram(qwen3_gguf: Path) -> None:
    a = (ChatMessage("user", LONG),)
    b = (ChatMessage("user", "a completely different question about the world " * 3),)
    with Engine() as eng:
        eng.load(qwen3_gguf, LoadOptions(threads=1))  # RAM level only
        done_a, _s, _ = turn(eng, a)
        turn(eng, b)
        _done, stats, _ = turn(eng, (*a, ChatMessage("assistant", done_a.answer), ChatMessage("user", "more")))
    assert stats.prompt_tokens_reused > len(LONG) // 8
    assert state_files() == []  # no disk budget, nothing written


def _rewrite_header(path: Path, change: Callable[[dict[str, object]], None]) -> None:
    raw = path.read_bytes()
    (length,) = struct.unpack("<I", raw[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    header = json.loads(raw[start : start + length])
    change(header)
    new = json.dumps(header, sort_keys=True).encode()
    path.write_bytes(MAGIC + struct.pack("<I", len(new)) + new + raw[start + length :])


def _truncate(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - size // 3)


def _other_build(path: Path) -> None:
    _rewrite_header(path, lambda h: h["identity"].update(llama_build="0.0.1-other"))  # type: ignore[attr-defined]


def _newer_format(path: Path) -> None:
    _rewrite_header(path, lambda h: h.update(format_version=99))


def _flipped_byte(path: Path) -> None:
    with open(path, "r+b") as f:
        f.seek(-100, os.SEEK_END)
        byte = f.read(1)
        f.seek(-100, os.SEEK_END)
        f.write(bytes([byte[0] ^ 0xFF]))


@pytest.mark.parametrize(
    ("damage", "logged"),
    [
        (_truncate, "cut short"),
        (_other_build, "another llama.cpp build"),
        (_newer_format, "newer Quillpad"),
        (_flipped_byte, "checksum"),
    ],
)
def test_bad_state_file_is_ignored_and_the_reply_recomputed(
    qwen3_gguf: Path, damage: Callable[[Path], None], logged: str
) -> None:
    conversation = first_turn(qwen3_gguf, WITH_DISK)
    (saved,) = state_files()
    damage(saved)
    with Engine() as eng:
        eng.load(qwen3_gguf, WITH_DISK)
        done, stats, _ = turn(eng, conversation)
        log = eng.log_path.read_text(encoding="utf-8")
    assert stats.prompt_tokens_reused == 0
    assert logged in log and "ignored" in log
    assert done.answer == recomputed(qwen3_gguf, conversation).answer


def test_state_from_another_model_is_ignored(tmp_path: Path, qwen3_gguf: Path) -> None:
    other = write_tiny_model(tmp_path / "other.gguf", TinySpec(seed=99))
    conversation = first_turn(other, WITH_DISK)
    (saved,) = state_files()
    with Engine() as eng:
        eng.load(qwen3_gguf, WITH_DISK)
        done, stats, _ = turn(eng, conversation)
        log = eng.log_path.read_text(encoding="utf-8")
    assert stats.prompt_tokens_reused == 0
    assert f"{saved.name} ignored: it was saved with another model file" in log
    assert done.answer == recomputed(qwen3_gguf, conversation).answer


def test_state_from_another_model_is_refused_on_load(tmp_path: Path) -> None:
    """A file whose header names this model but whose data came from another is caught on load."""
    from app.core.engine.state_files import StateFileError, read_state_file, write_state_file

    mine = StateIdentity("a" * 64, "1.0", 4096, "flash_attention=False")
    theirs = StateIdentity("b" * 64, "1.0", 4096, "flash_attention=False")
    path = tmp_path / f"x{SUFFIX}"
    write_state_file(path, theirs, np.arange(10), b"state")
    with pytest.raises(StateFileError, match="another model"):
        read_state_file(path, mine)


IDENTITY = StateIdentity("c" * 64, "test", 4096, "flash_attention=False")


def _cache(folder: Path, ram: int, disk: int, lines: list[str]) -> StateCache:
    folder.mkdir(exist_ok=True)
    return StateCache(CacheConfig(folder, ram, disk), lambda: IDENTITY, lines.append)


def test_disk_budget_evicts_least_recently_used(tmp_path: Path) -> None:
    lines: list[str] = []
    cache = _cache(tmp_path, 0, 250_000, lines)
    try:
        for n in range(6):  # six unrelated conversations of ~100 kB each
            cache.remember(np.arange(n * 1000, n * 1000 + 50), os.urandom(100_000))
            cache.flush()
        files = list(tmp_path.glob(f"*{SUFFIX}"))
        assert sum(f.stat().st_size for f in files) <= 250_000
        assert len(files) == 2
        kept = {int(read_header(f)[1][0]) for f in files}
        assert kept == {4000, 5000}  # the newest two
    finally:
        cache.close()


def test_newer_state_of_a_conversation_replaces_the_older(tmp_path: Path) -> None:
    cache = _cache(tmp_path, 10_000_000, 10_000_000, [])
    try:
        cache.remember(np.arange(50), b"x" * 1000)
        cache.remember(np.arange(80), b"y" * 1000)  # the same conversation, one turn later
        cache.flush()
        (only,) = tmp_path.glob(f"*{SUFFIX}")
        assert read_header(only)[0].n_tokens == 80
        found = cache.best(list(range(100)), live_prefix=0, whole_only=False)
        assert found is not None and len(found[0]) == 80 and found[1] == b"y" * 1000
    finally:
        cache.close()


def test_budget_zero_writes_nothing(tmp_path: Path, qwen3_gguf: Path) -> None:
    with Engine() as eng:
        eng.load(qwen3_gguf, LoadOptions(threads=1, state_disk_mb=0))
        turn(eng, (ChatMessage("user", LONG),))
    assert state_files() == []
    cache = _cache(tmp_path / "states", 0, 0, [])
    cache.remember(np.arange(50), b"x" * 1000)
    cache.flush()
    cache.close()
    assert list((tmp_path / "states").iterdir()) == []


def test_full_disk_abandons_the_write_with_one_notice(tmp_path: Path) -> None:
    """The partial file is on a full device (/dev/full: every write fails with ENOSPC)."""
    import hashlib

    lines: list[str] = []
    tmp_path = tmp_path / "states"
    cache = _cache(tmp_path, 0, 10_000_000, lines)
    try:
        tokens = np.arange(50, dtype=np.intc)
        key = hashlib.sha256(tokens.tobytes()).digest()
        name = hashlib.sha256(IDENTITY.key().encode() + key).hexdigest()[:32] + SUFFIX
        (tmp_path / (name + ".part")).symlink_to("/dev/full")
        cache.remember(tokens, b"x" * 100_000)
        cache.flush()
        cache.remember(np.arange(100, 200), b"z" * 1000)  # not attempted again this session
        cache.flush()
        assert list(tmp_path.iterdir()) == []  # the partial file removed, nothing else written
        notices = cache.take_notices()
        assert len(notices) == 1 and "could not be written" in notices[0] and "disk space" in notices[0]
        assert cache.take_notices() == []
    finally:
        cache.close()


def test_unwritable_state_folder_gives_one_notice(qwen3_gguf: Path) -> None:
    states_dir().parent.mkdir(parents=True)
    states_dir().write_text("a file where the folder should be")
    with Engine() as eng:
        eng.load(qwen3_gguf, WITH_DISK)
        events = turn(eng, (ChatMessage("user", LONG),))[2] + turn(eng, (ChatMessage("user", "next"),))[2]
    notices = [e for e in events if isinstance(e, Notice) and "could not be written" in e.message]
    assert len(notices) == 1
