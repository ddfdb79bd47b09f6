"""``quillpad bench context`` on a small tree: it runs end to end and prints every figure (no speed asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.bench.context_bench import percentile, run_context_bench
from app.core.bench.watch_compare import compare_watchers, report
from app.core.project import ProjectFolderError
from tests.fixtures.project_tree import write_tree


def test_the_bench_reports_every_figure_and_leaves_the_folder_alone(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "proj")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    messages: list[str] = []
    result = run_context_bench(root, edits=3, progress=messages.append, queries=10, burst=300)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert result.files == 14 and result.chunks > 0 and result.index_seconds > 0
    assert len(result.query_latencies) == 10 and len(result.save_latencies) == 3 and result.save_timeouts == 0
    assert result.rss_bytes > 0 and result.peak_rss_bytes >= result.rss_bytes
    report = result.report()
    for figure in ("initial index", "files/s", "reopen", "resident memory", "p95", "save to searchable", "watcher"):
        assert figure in report
    assert result.burst_files == 300 and result.burst_settled and result.burst_mismatches == []
    assert "300 files created, a quarter modified, half deleted at once: idle after" in report
    assert "index equal to the disk" in report
    assert messages and messages[0].startswith("copying")


def test_the_bench_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ProjectFolderError, match="is not a folder"):
        run_context_bench(tmp_path / "missing")


def test_percentile() -> None:
    assert percentile([], 95) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([float(i) for i in range(1, 101)], 95) == 95.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")
def test_the_watcher_comparison_counts_watches_and_threads(tmp_path: Path) -> None:
    ways = compare_watchers(tmp_path, folders=50, ignored=10, probes=3)
    assert [way.name for way in ways] == [
        "our inotify tree (inotify_simple)",
        "watchdog, one watch per folder",
        "watchdog, recursive",
    ]
    ours, per_folder, recursive = ways
    assert ours.watches == per_folder.watches == 52  # the root, pkg0 and its 50 folders; never node_modules
    assert recursive.watches == 52 + 11  # node_modules and its 10 folders too
    assert ours.threads == 1 and per_folder.threads >= 52
    assert all(way.missed == 0 for way in ways)
    lines = report(ways, 50, 10)
    assert lines[0] == "watching 50 kept folders and 10 ignored ones (ratios to the first):"
    assert "(  1.0x)" in lines[1]
