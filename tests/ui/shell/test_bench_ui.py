"""`quillpad bench ui` runs a real window against a real (tiny) model and reports every column."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.shell import bench_ui
from app.ui.shell.bench_ui import (
    BareConversation,
    ReplyFigures,
    predicted_context,
    run_queue_seconds,
    run_ui_bench,
    same_context,
)


def test_two_short_replies_give_a_full_report(qtbot: QtBot, qwen3_gguf: Path) -> None:
    result = run_ui_bench(str(qwen3_gguf), tokens=12, replies=2, bare_threads=(1,), probe_repeats=(3, 3))
    assert [r.number for r in result.replies] == [1, 2]
    for reply in result.replies:
        assert reply.tokens == 12
        assert reply.window_tps > 0 and reply.bare_tps[1] > 0
        assert len(reply.bare_runs[1]) == 2  # bare before and after: no old turn was dropped
        assert 0 < reply.settle_s < 20
        assert reply.probe_us_per_token > 0  # the fixed reply was streamed and timed
        assert reply.context > 0 and reply.rss_mb["engine"] > 0
        assert len(reply.window_gaps) == 11 and len(reply.bare_gaps[1]) == 2 * 11  # bare before and after
        assert reply.typical_ratio > 0 and reply.decode_s > 0
        assert reply.wait_ms >= 0 and reply.bare_wait_ms[1] >= 0
    assert result.replies[1].context > result.replies[0].context
    report = result.report()
    assert "fixed" in report and "settle s" in report and "lowest ratio over the replies" in report
    assert "GUI cost per token of the same fixed reply" in report


def test_the_threads_column_shows_a_switch_mid_reply() -> None:
    row = ReplyFigures(1, 400, 42, 80.0, 2, 100.0, 5.0, 4.0, 1.0, thread_tokens=((2, 391), (1, 9)))
    assert row.threads_text == "2:391 1:9"
    assert ReplyFigures(1, 400, 42, 80.0, 2, 100.0, 5.0, 4.0, 1.0, thread_tokens=((2, 400),)).threads_text == "2"


def test_the_window_is_compared_with_the_mean_of_bare_before_and_after() -> None:
    row = ReplyFigures(3, 400, 900, 80.0, 2, 100.0, 5.0, 4.0, 1.0)
    row.set_bare({2: 90.0, 1: 50.0}, {2: 70.0, 1: 60.0})
    assert row.bare_tps == {2: 80.0, 1: 55.0} and row.best_bare == 80.0
    assert row.bare_text(2) == "90.0/70.0"


def test_typical_ratio_and_slow_stretch_tell_a_cost_per_token_from_a_stall() -> None:
    stalled = ReplyFigures(5, 400, 1700, 80.0, 2, 100.0, 5.0, 4.0, 1.0, window_gaps=(0.010,) * 390 + (0.110,) * 9)
    stalled.set_bare({2: 100.0}, {2: 100.0}, {2: [0.010] * 798})
    assert stalled.typical_ratio == 1.0  # its typical token is as fast as bare's ...
    assert abs(stalled.stretch_s - 0.9) < 1e-9  # ... it lost 9 x 100 ms in one stretch
    slower = ReplyFigures(5, 400, 1700, 80.0, 2, 100.0, 5.0, 4.0, 1.0, window_gaps=(0.0125,) * 399)
    slower.set_bare({2: 100.0}, {2: 100.0}, {2: [0.010] * 798})
    assert abs(slower.typical_ratio - 0.8) < 1e-9 and slower.stretch_s == 0.0  # every token paid for something
    report = bench_ui.UiBenchResult("m.gguf", False, (2,), [stalled]).report()
    assert "typical" in report.splitlines()[2] and "1.00 0.9/5  " in report.splitlines()[3]


def test_a_bare_run_at_another_context_is_left_out() -> None:
    row = ReplyFigures(10, 400, 1734, 50.0, 2, 100.0, 5.0, 4.0, 1.0)
    before_context = 3850  # the window dropped old turns; bare before did not know it would
    assert not same_context(before_context, row.context)
    row.set_bare(None, {2: 56.8})
    assert row.bare_tps == {2: 56.8} and row.bare_text(2) == "56.8"
    assert same_context(20, 42) and same_context(3425, 3427) and not same_context(3000, 3427)


def test_bare_before_a_reply_that_would_not_fit_measures_nothing(qwen3_gguf: Path) -> None:
    bare = BareConversation(str(qwen3_gguf), 256, 1, 1)
    try:
        context, rates = bare.before("Reply 1: write.", 8, (1,))
        assert rates is not None and rates[1] > 0 and 0 < context < 40
        bare.reply("Reply 1: write.", 200, (1,), 40)
        context, rates = bare.before("Reply 2: write.", 200, (1,))  # 240 + the turn + 200 > 256
        assert rates is None and context > 240
    finally:
        bare.close()


def test_bare_before_a_reply_is_padded_to_the_predicted_context(qwen3_gguf: Path) -> None:
    bare = BareConversation(str(qwen3_gguf), 512, 1, 1)
    try:
        bare.reply("Reply 1: write.", 8, (1,), 30)
        context, rates = bare.before("Reply 2: write.", 8, (1,), 200)
        assert context == 200 and rates is not None
        assert len(bare.tokens) == 38  # the before-run kept nothing
    finally:
        bare.close()
    rows = [ReplyFigures(n, 400, c, 30.0, 2, 100.0, 5.0, 4.0, 1.0) for n, c in ((1, 38), (2, 1581))]
    assert predicted_context(rows[:1]) is None and predicted_context(rows) == 3124


def test_before_a_reply_that_drops_old_turns_bare_is_cut_where_the_window_cut_last() -> None:
    contexts = (42, 465, 888, 1311, 1734, 2157, 2580, 3003, 3426, 1735, 2159, 2583, 3007, 3431)
    rows = [ReplyFigures(n, 400, c, 30.0, 2, 100.0, 5.0, 4.0, 1.0) for n, c in enumerate(contexts, 1)]
    assert predicted_context(rows[:9], 4096, 400) is None  # would not fit, and no cut seen yet
    assert predicted_context(rows[:8], 4096, 400) == 3426  # fits: grows as it grew
    assert predicted_context(rows, 4096, 400) == 1735  # 3855 + 400 > 4096: cut as at reply 10
    assert predicted_context(rows, None, 400) == 3855
    assert predicted_context(rows[:10], 4096, 400) == 2158  # after a cut: grows as before the cut


def test_bare_before_a_reply_is_cut_to_a_shorter_predicted_context(qwen3_gguf: Path) -> None:
    bare = BareConversation(str(qwen3_gguf), 512, 1, 1)
    try:
        bare.reply("Reply 1: write.", 8, (1,), 200)
        context, rates = bare.before("Reply 2: write.", 8, (1,), 100)
        assert context == 100 and rates is not None and rates[1] > 0
        assert len(bare.tokens) == 208  # the before-run kept nothing
    finally:
        bare.close()


def test_a_bare_run_far_slower_than_the_fastest_is_stopped_and_the_full_run_kept(
    qwen3_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside a CPU-bound program 2 threads decoded 1-4 tokens/s: 400 of them took minutes a reply."""
    monkeypatch.setattr(bench_ui, "SLOW_RUN_CAP", 0.0)  # any run after the first full one is "slower"
    bare = BareConversation(str(qwen3_gguf), 512, 1, 1)
    try:
        rates = bare.reply("Reply 1: write.", 32, (2, 1), 40)
        assert list(rates) == [2, 1] and all(rate > 0 for rate in rates.values())
        assert bare.decoded == {2: 32, 1: 2}  # stopped at its second token, the first timed one
        assert len(bare.tokens) == 40 + 32  # the conversation keeps the full run's tokens
        fastest = max(rates, key=lambda threads: rates[threads])
        _context, before = bare.before("Reply 2: write.", 16, (2, 1))
        assert before is not None and list(before) == [2, 1]
        assert bare.decoded[fastest] == 16 and sum(bare.decoded.values()) == 18  # last time's fastest first
        assert len(bare.tokens) == 40 + 32  # the before-run kept nothing
    finally:
        bare.close()


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_run_queue_wait_counts_the_time_a_thread_waited_for_its_core() -> None:
    """What the "wait ms" column reads: a thread sharing its only core with a busy program waits."""
    cpu = min(os.sched_getaffinity(0))
    rival = subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass"])
    own = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})  # this thread only
        time.sleep(0.3)  # the rival is running by now
        before = run_queue_seconds(os.getpid())
        end = time.monotonic() + 0.6
        while time.monotonic() < end:
            pass
        assert run_queue_seconds(os.getpid()) - before > 0.1  # about half of the 0.6 s
    finally:
        os.sched_setaffinity(0, own)
        rival.kill()
        rival.wait()
    assert run_queue_seconds(None) == 0.0 and run_queue_seconds(2**22 + 12345) == 0.0
