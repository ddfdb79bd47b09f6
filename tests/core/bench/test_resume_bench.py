"""`quillpad bench resume` with a real (tiny) model: reopening and switching back reuse the saved state."""

from __future__ import annotations

from pathlib import Path

from app.core.bench.resume_bench import run_resume_bench


def test_saved_state_is_reused_and_gives_the_never_closed_reply(qwen3_gguf: Path) -> None:
    result = run_resume_bench(str(qwen3_gguf), history_tokens=400, tokens=8)
    assert len(result.cases) == 2
    for saved, recomputed, kept in result.cases:
        assert saved.reused > 0
        assert saved.evaluated < recomputed.evaluated
        assert recomputed.reused <= 5  # only the template's first tokens, shared with the other chat
        assert saved.answer == kept.answer
    report = result.report()
    assert "reopened, saved state" in report and "never closed" in report and "never switched" in report
