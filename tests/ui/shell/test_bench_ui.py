"""`quillpad bench ui` runs a real window against a real (tiny) model and reports every column."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.shell.bench_ui import ReplyFigures, run_ui_bench


def test_two_short_replies_give_a_full_report(qtbot: QtBot, qwen3_gguf: Path) -> None:
    result = run_ui_bench(str(qwen3_gguf), tokens=12, replies=2, bare_threads=(1,))
    assert [r.number for r in result.replies] == [1, 2]
    for reply in result.replies:
        assert reply.tokens == 12
        assert reply.window_tps > 0 and reply.bare_tps[1] > 0
        assert reply.probe_us_per_token > 0  # the fixed reply was streamed and timed
        assert reply.context > 0 and reply.rss_mb["engine"] > 0
    assert result.replies[1].context > result.replies[0].context
    report = result.report()
    assert "fixed" in report and "lowest ratio over the replies" in report
    assert "GUI cost per token of the same fixed reply" in report


def test_the_threads_column_shows_a_switch_mid_reply() -> None:
    row = ReplyFigures(1, 400, 42, 80.0, 2, 100.0, 5.0, 4.0, 1.0, thread_tokens=((2, 391), (1, 9)))
    assert row.threads_text == "2:391 1:9"
    assert ReplyFigures(1, 400, 42, 80.0, 2, 100.0, 5.0, 4.0, 1.0, thread_tokens=((2, 400),)).threads_text == "2"
