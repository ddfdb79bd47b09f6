"""``quillpad bench eval-server``: the table against the fake parallel server (a separate process), and refusals.

Figures are printed, never asserted against a time: the test checks the table's shape and that
the levels ran the real evaluation path.
"""

from __future__ import annotations

import pytest

from app.cli import main
from app.core.bench.eval_server_bench import run_eval_server_bench


def test_the_bench_measures_each_level_through_a_real_run() -> None:
    result = run_eval_server_bench(latency=0.05, levels=(1, 4), rounds=2, repeats=2)
    assert [level.concurrency for level in result.levels] == [1, 4]
    # Whole rounds of the 10-task sample: 10 requests at 1, 20 at 4 (lcm of 10 and 4).
    assert [level.requests for level in result.levels] == [10, 20]
    assert all(level.rate > 0 and level.p50 >= 0.05 for level in result.levels)
    assert all(len(level.rates) == 2 and level.rate in level.rates for level in result.levels)
    table = result.report()
    assert "concurrency" in table and "ratio" in table and "load average" in table
    assert len([line for line in table.splitlines() if line.strip().startswith(("1 ", "4 "))]) == 2


def test_bench_refusals_are_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ("8,32", "1,x", "1,1000"):
        assert main(["bench", "eval-server", "--concurrency", value]) == 2
        err = capsys.readouterr().err
        assert "--concurrency" in err and err.count("\n") == 1
