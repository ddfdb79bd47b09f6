"""A chat longer than the context, on a real (tiny) model: once cut, the prompt is not evaluated again."""

from __future__ import annotations

from pathlib import Path

from app.core.engine import ChatMessage, ChatRequest, Done, Engine, LoadOptions, Stats


def test_after_a_deep_cut_the_next_replies_evaluate_only_their_new_turn(qwen3_gguf: Path) -> None:
    with Engine() as engine:
        engine.load(qwen3_gguf, LoadOptions(threads=1, context_length=512))
        messages = [ChatMessage("user", "start " + "word " * 12)]
        rows: list[tuple[int, int, int]] = []  # prompt tokens, evaluated, dropped turns
        for turn in range(30):
            events = list(
                engine.chat(ChatRequest(tuple(messages), max_tokens=8, seed=1, thinking=False, ignore_eos=True))
            )
            done = events[-1]
            stats = next(e for e in events if isinstance(e, Stats))
            assert isinstance(done, Done)
            rows.append((stats.prompt_tokens, stats.prompt_tokens_evaluated, stats.dropped_turns))
            # A random-weight model's text re-tokenises to far more tokens than it was generated
            # as; a short fixed answer keeps the chat's growth like a real one's.
            messages += [
                ChatMessage("assistant", "A short answer."),
                ChatMessage("user", f"turn {turn} " + "word " * 12),
            ]
    after_first_cut = rows[next(i for i, row in enumerate(rows) if row[2]) :]
    assert len(after_first_cut) >= 6, rows
    whole = [row for row in after_first_cut if row[1] * 2 > row[0]]
    # Each full re-evaluation is a new cut, which leaves room for several replies.
    assert len(whole) <= len(after_first_cut) // 3, rows
    assert all(row[0] + 8 <= 512 for row in rows)
