"""The engine end to end with real tiny models in a real worker process."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.engine import (
    AnswerText,
    ChatMessage,
    ChatRequest,
    Done,
    Engine,
    EngineError,
    EngineEvent,
    EngineState,
    LoadOptions,
    Notice,
    Stats,
    ThinkingText,
)
from app.core.engine.client import EngineCrashedError
from app.core.errors import QuillpadError
from tests.fixtures.malformed_gguf import write_unknown_arch
from tests.fixtures.tiny_gguf import QWEN3_CHAT_TEMPLATE, TinySpec, write_tiny_model

ONE_THREAD = LoadOptions(threads=1)


def ask(text: str, **kwargs: object) -> ChatRequest:
    return ChatRequest((ChatMessage("user", text),), **kwargs)  # type: ignore[arg-type]


def collect(events: Iterator[EngineEvent]) -> list[EngineEvent]:
    return list(events)


def last(events: list[EngineEvent], kind: type) -> object:
    return next(e for e in reversed(events) if isinstance(e, kind))


@pytest.fixture
def engine(qwen3_gguf: Path) -> Iterator[Engine]:
    with Engine() as eng:
        eng.load(qwen3_gguf, ONE_THREAD)
        yield eng


def test_streams_text_then_stats_then_done(engine: Engine) -> None:
    events = collect(engine.chat(ask("hello world", max_tokens=24, seed=3)))
    assert isinstance(events[-1], Done) and isinstance(events[-2], Stats)
    done, stats = events[-1], events[-2]
    streamed = "".join(e.text for e in events if isinstance(e, AnswerText))
    assert done.answer == streamed and streamed
    assert done.reason == "length" and stats.completion_tokens == 24
    assert stats.prompt_tokens == stats.prompt_tokens_evaluated and stats.prompt_tokens_reused == 0
    assert stats.decode_tokens_per_second > 0 and stats.time_to_first_token > 0
    # Every generated token is counted under the thread count that decoded it.
    assert sum(count for _threads, count in stats.thread_tokens) == stats.completion_tokens
    assert stats.threads in dict(stats.thread_tokens)
    # The time between each two tokens, which the decode time is made of.
    assert len(stats.token_gaps) == stats.completion_tokens - 1 and min(stats.token_gaps) > 0
    assert 0.9 * stats.decode_seconds <= sum(stats.token_gaps) <= stats.decode_seconds
    assert engine.state == EngineState.READY


def test_stop_during_generation_keeps_partial_answer(engine: Engine) -> None:
    events: list[EngineEvent] = []
    for event in engine.chat(ask("tell me everything", seed=1, ignore_eos=True)):
        events.append(event)
        if isinstance(event, AnswerText):
            engine.stop()
    done = events[-1]
    assert isinstance(done, Done) and done.reason == "cancelled"
    assert done.answer  # what streamed before the stop is kept
    stats = last(events, Stats)
    assert stats.completion_tokens < 4000  # type: ignore[attr-defined]
    # Ready for the next request.
    assert isinstance(collect(engine.chat(ask("again", max_tokens=4)))[-1], Done)


def test_stop_during_prompt_processing(slow_gguf: Path) -> None:
    long_prompt = "hello world " * 1500
    with Engine() as eng:
        eng.load(slow_gguf, LoadOptions(threads=1, context_length=8192, batch_size=256))
        timer = threading.Timer(0.5, eng.stop)
        timer.start()
        try:
            events = collect(eng.chat(ask(long_prompt, max_tokens=8)))
        finally:
            timer.cancel()
        done, stats = events[-1], last(events, Stats)
        assert isinstance(done, Done) and done.reason == "cancelled"
        assert stats.completion_tokens == 0  # type: ignore[attr-defined]
        assert stats.prompt_tokens_evaluated < stats.prompt_tokens  # type: ignore[attr-defined]
        follow_up = collect(eng.chat(ask("short", max_tokens=2)))
        assert isinstance(follow_up[-1], Done) and follow_up[-1].reason == "length"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSEGV])
def test_worker_killed_mid_reply_then_restarted(engine: Engine, sig: signal.Signals) -> None:
    events: list[EngineEvent] = []
    for event in engine.chat(ask("go on", seed=2, ignore_eos=True)):
        events.append(event)
        if isinstance(event, AnswerText) and len(events) == 1:
            assert engine.worker_pid
            os.kill(engine.worker_pid, sig)
    error = events[-1]
    assert isinstance(error, EngineError) and error.crashed
    assert error.signal == sig.name and error.exit_code == -sig
    assert sig.name in error.message and "restart" in error.message
    assert error.answer.startswith(events[0].text)  # type: ignore[attr-defined]
    assert engine.state == EngineState.CRASHED
    with pytest.raises(EngineCrashedError):
        collect(engine.chat(ask("hello")))
    loaded = engine.restart()
    assert loaded is not None and engine.state == EngineState.READY
    assert isinstance(collect(engine.chat(ask("hello", max_tokens=4)))[-1], Done)


def test_crash_between_requests_is_noticed(engine: Engine) -> None:
    assert engine.worker_pid
    os.kill(engine.worker_pid, signal.SIGSEGV)
    deadline = time.monotonic() + 10
    while engine.state != EngineState.CRASHED and time.monotonic() < deadline:
        time.sleep(0.02)
    with pytest.raises(EngineCrashedError):
        collect(engine.chat(ask("hi")))
    assert any("llama" in line or "Fatal Python error" in line for line in engine.log_tail())


def test_thinking_switch_reaches_the_prompt(engine: Engine) -> None:
    on = engine.render(ask("2+2?", thinking=True))
    off = engine.render(ask("2+2?", thinking=False))
    assert on.thinking and not off.thinking
    assert off.text.endswith("<think>\n\n</think>\n\n") and on.text.endswith("<|im_start|>assistant\n")


def test_history_is_sent_without_thinking(engine: Engine) -> None:
    def history(answer: str) -> ChatRequest:
        return ChatRequest(
            (ChatMessage("user", "hi"), ChatMessage("assistant", answer), ChatMessage("user", "and then?"))
        )

    with_thinking = engine.render(history("<think>\nlong private reasoning\n</think>\n\nHello!"))
    without = engine.render(history("Hello!"))
    assert with_thinking.text == without.text and with_thinking.tokens == without.tokens
    assert "private reasoning" not in with_thinking.text


def test_thinking_streams_into_its_own_channel(tmp_path: Path) -> None:
    # A template whose generation prompt opens the think block itself, as
    # some Qwen3 releases do: everything the model writes is thinking until
    # it closes the block.
    template = QWEN3_CHAT_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' -}}", "{{- '<|im_start|>assistant\\n<think>\\n' -}}"
    )
    path = write_tiny_model(tmp_path / "opens-think.gguf", TinySpec(chat_template=template))
    with Engine() as eng:
        eng.load(path, ONE_THREAD)
        events = collect(eng.chat(ask("think about it", max_tokens=20, seed=5)))
    kinds = [type(e) for e in events if isinstance(e, ThinkingText | AnswerText)]
    assert kinds and kinds[0] is ThinkingText
    done = events[-1]
    assert isinstance(done, Done) and done.thinking
    assert done.thinking.startswith("".join(e.text for e in events if isinstance(e, ThinkingText))[:10])


def test_prompt_reuse_counts_over_turns(engine: Engine) -> None:
    messages: tuple[ChatMessage, ...] = (ChatMessage("user", "hello the world"),)
    history: list[Stats] = []
    for turn in range(4):
        events = collect(engine.chat(ChatRequest(messages, max_tokens=12, seed=turn)))
        stats = last(events, Stats)
        assert isinstance(stats, Stats)
        history.append(stats)
        answer = events[-1].answer  # type: ignore[union-attr]
        messages += (ChatMessage("assistant", answer), ChatMessage("user", f"question number {turn}"))
    assert history[0].prompt_tokens_reused == 0
    for before, now in itertools.pairwise(history):
        assert now.prompt_tokens_evaluated + now.prompt_tokens_reused == now.prompt_tokens
        # Everything up to the previous answer is reused; only the previous
        # answer (re-tokenised) and the new turn are evaluated.
        assert now.prompt_tokens_reused >= before.prompt_tokens
        assert now.prompt_tokens_evaluated <= now.prompt_tokens - before.prompt_tokens


def test_context_overflow_drops_old_turns(qwen3_gguf: Path) -> None:
    with Engine() as eng:
        eng.load(qwen3_gguf, LoadOptions(threads=1, context_length=256))
        messages: list[ChatMessage] = [ChatMessage("system", "You are terse.")]
        for i in range(8):
            messages += [ChatMessage("user", f"question {i} " + "word " * 20), ChatMessage("assistant", "ok " * 10)]
        messages.append(ChatMessage("user", "final question"))
        events = collect(eng.chat(ChatRequest(tuple(messages), max_tokens=16, seed=1)))
        stats = last(events, Stats)
        assert stats.dropped_turns > 0  # type: ignore[attr-defined]
        assert any(isinstance(e, Notice) and "left out" in e.message for e in events)
        assert isinstance(events[-1], Done)

        too_long = collect(eng.chat(ask("word " * 400, max_tokens=16)))
        assert len(too_long) == 1 and isinstance(too_long[0], EngineError)
        assert "shorten it" in too_long[0].message and not too_long[0].crashed
        assert isinstance(collect(eng.chat(ask("fine", max_tokens=2)))[-1], Done)


def test_same_seed_same_reply(qwen3_gguf: Path) -> None:
    def reply() -> str:
        with Engine() as eng:
            eng.load(qwen3_gguf, ONE_THREAD)
            done = collect(eng.chat(ask("hello", max_tokens=32, seed=1234)))[-1]
            assert isinstance(done, Done)
            return done.answer

    assert reply() == reply()


def test_malicious_template_does_not_execute(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = (
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}"
        "{% for m in messages %}{{ m.content }}{% endfor %}"
    )
    path = write_tiny_model(tmp_path / "evil.gguf", TinySpec(chat_template=evil))
    with Engine() as eng:
        eng.load(path, ONE_THREAD)
        events = collect(eng.chat(ask("hi", max_tokens=4)))
    assert not marker.exists()
    assert any(isinstance(e, Notice) and "ChatML" in e.message for e in events)
    assert isinstance(events[-1], Done)


def test_model_without_template_still_chats(no_template_gguf: Path) -> None:
    with Engine() as eng:
        eng.load(no_template_gguf, ONE_THREAD)
        assert eng.render(ask("hi")).text == "User: hi\n\nAssistant:"
        assert isinstance(collect(eng.chat(ask("hi", max_tokens=6)))[-1], Done)


def test_moe_model_chats(qwen3moe_gguf: Path) -> None:
    with Engine() as eng:
        loaded = eng.load(qwen3moe_gguf, ONE_THREAD)
        assert loaded.info.is_moe and loaded.profile.name == "Qwen3"
        assert isinstance(collect(eng.chat(ask("hi", max_tokens=6)))[-1], Done)


def test_context_longer_than_training_is_clamped(qwen3_gguf: Path) -> None:
    with Engine() as eng:
        loaded = eng.load(qwen3_gguf, LoadOptions(threads=1, context_length=100_000))
        assert loaded.context_length == 4096 and loaded.warnings and "trained for" in loaded.warnings[0]
        insisted = eng.load(qwen3_gguf, LoadOptions(threads=1, context_length=8192, allow_longer_context=True))
        assert insisted.context_length == 8192 and not insisted.warnings


def test_bad_model_files_are_refused_cleanly(tmp_path: Path, qwen3_gguf: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(qwen3_gguf.read_bytes()[:5000])
    with Engine() as eng:
        with pytest.raises(QuillpadError, match=r"truncated|damaged"):
            eng.load(broken)
        with pytest.raises(QuillpadError, match=r"llama\.cpp could not load"):
            eng.load(write_unknown_arch(tmp_path / "alien.gguf"), ONE_THREAD)
        assert eng.state == EngineState.IDLE
        with pytest.raises(QuillpadError, match="positive"):
            eng.load(qwen3_gguf, LoadOptions(context_length=0))
        eng.load(qwen3_gguf, ONE_THREAD)  # still usable
        assert isinstance(collect(eng.chat(ask("hi", max_tokens=2)))[-1], Done)


def test_abandoned_stream_leaves_engine_ready(engine: Engine) -> None:
    stream = engine.chat(ask("go", seed=1, ignore_eos=True))
    for event in stream:
        if isinstance(event, AnswerText):
            break
    stream.close()
    assert engine.state == EngineState.READY
    assert isinstance(collect(engine.chat(ask("next", max_tokens=3)))[-1], Done)


def test_chat_without_model_is_refused() -> None:
    with Engine() as eng, pytest.raises(QuillpadError, match="No model is loaded"):
        collect(eng.chat(ask("hi")))


def test_consumer_that_stops_at_done_leaves_engine_ready(engine: Engine) -> None:
    stream = engine.chat(ask("hi", max_tokens=3))
    for event in stream:
        if isinstance(event, Done):
            break
    stream.close()  # what garbage collection would do
    assert engine.state == EngineState.READY
    # A hang guard on the reply itself: it must not wait out a 30 s drain of the finished one.
    events: list[object] = []
    reader = threading.Thread(target=lambda: events.extend(collect(engine.chat(ask("again", max_tokens=2)))))
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "the next reply waited for the stopped one to drain"
    assert isinstance(events[-1], Done)


def test_grammar_constrains_the_output(engine: Engine) -> None:
    grammar = 'root ::= "yes" | "no"'
    done = collect(engine.chat(ask("answer", max_tokens=8, seed=4, grammar=grammar, thinking=False)))[-1]
    assert isinstance(done, Done) and done.answer in ("yes", "no")
    # A malformed grammar can crash llama.cpp's parser: the worker dies, the
    # caller gets a message naming the grammar, and a restart recovers.
    bad = collect(engine.chat(ask("answer", grammar="root ::= (", max_tokens=4)))
    assert isinstance(bad[-1], EngineError) and "GBNF" in bad[-1].message
    if bad[-1].crashed:
        engine.restart()
    assert isinstance(collect(engine.chat(ask("again", max_tokens=2)))[-1], Done)
