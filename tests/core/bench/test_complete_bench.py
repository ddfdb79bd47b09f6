"""``quillpad bench complete`` runs end to end on a tiny coder model and real files (figures are not checked)."""

from __future__ import annotations

from pathlib import Path

from app.core.bench.complete_bench import pick_positions, run_completion_bench

SAMPLE = "".join(f"def step_{i}(state):\n    state.count += {i}\n    return state\n\n" for i in range(80))


def test_positions_are_fixed_by_the_seed(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SAMPLE)
    (tmp_path / "small.py").write_text("x = 1\n")  # too small to replay
    first = pick_positions(tmp_path, files=2, per_file=3)
    assert first == pick_positions(tmp_path, files=2, per_file=3)
    assert {path.name for path, _text, _cursor in first} == {"a.py"} and len(first) == 3
    for _path, text, cursor in first:
        assert text[cursor - 4 : cursor] == "    "


def test_the_bench_replays_jumps_and_typing(coder_gguf: Path, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(SAMPLE)
    result = run_completion_bench(
        str(coder_gguf), tmp_path, files=1, per_file=2, keystrokes=6, interval=0.01, threads=1,
        prompt_tokens=256, read_pause=0.2,
    )  # fmt: skip
    kinds = [s.kind for s in result.samples]
    assert kinds.count("jump") == 2 and kinds.count("keystroke") == 4
    assert all(s.result.reason in ("done", "cancelled") for s in result.samples)
    assert sum(s.result.stats.prompt_tokens_reused for s in result.samples) > 0
    report = result.report()
    assert "jump" in report and "keystroke" in report and "ceiling" in report and "load average" in report
    assert result.ceiling_tokens_per_second > 0
