"""The Evaluate panel: runs off the GUI thread, live table, chart of runs, cancel, wiring."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.settings import Settings
from app.ui.evaluation import EvaluatePanel
from app.ui.evaluation.chart import ChartRun


def make_panel(qtbot: QtBot, model: str | None = None) -> EvaluatePanel:
    panel = EvaluatePanel(lambda: model, Settings)
    qtbot.addWidget(panel)
    panel.resize(1100, 420)
    panel.show()
    return panel


def run_and_wait(qtbot: QtBot, panel: EvaluatePanel, timeout: int = 120_000) -> object:
    with qtbot.waitSignal(panel.runFinished, timeout=timeout) as blocker:
        assert panel.start()
    return blocker.args[0]


def test_self_check_run_fills_the_table_progress_and_chart(qtbot: QtBot) -> None:
    panel = make_panel(qtbot)
    panel.kind.setCurrentText("math")
    panel.mode.setCurrentIndex(1)  # reference solutions
    panel.limit.setValue(0)  # all
    report = run_and_wait(qtbot, panel)
    assert isinstance(report, dict) and report["summary"]["pooled"]["passed"] == 10
    assert panel.table.rowCount() == 10
    assert {panel.table.item(row, 2).text() for row in range(10)} == {"pass"}
    assert panel.progress.value() == panel.progress.maximum() == 10
    assert "pass@1 100.0% (10/10)" in panel.status.text()
    assert [run.rate for run in panel.chart.runs] == [1.0]
    panel.table.setCurrentCell(3, 0)  # the detail view shows the selected task
    detail = panel.detail.toPlainText()
    assert detail.startswith(f"{panel.table.item(3, 0).text()} (seed 1): pass") and "── Output ──" in detail
    assert panel.run_button.isEnabled() and not panel.cancel_button.isEnabled() and panel.open_button.isEnabled()
    # A second, different run is drawn beside the first, and a new panel finds both on disk.
    panel.mode.setCurrentIndex(2)  # empty answers
    run_and_wait(qtbot, panel)
    assert [run.rate for run in panel.chart.runs] == [1.0, 0.0]
    again = make_panel(qtbot)
    assert len(again.chart.runs) == 2 and all(isinstance(r, ChartRun) for r in again.chart.runs)


def test_a_real_model_run(qtbot: QtBot, qwen3_gguf: Path) -> None:
    panel = make_panel(qtbot, model=str(qwen3_gguf))  # the window's loaded model is the default
    panel.kind.setCurrentText("humaneval")
    panel.limit.setValue(2)
    panel.max_tokens.setValue(16)
    panel.thinking.setCurrentIndex(2)  # off
    report = run_and_wait(qtbot, panel)
    assert isinstance(report, dict) and report["complete"] and report["tasks_finished"] == 2
    assert report["model"]["file_name"] == qwen3_gguf.name and report["settings"]["thinking"] is False
    assert panel.table.rowCount() == 2
    assert panel.folder is not None and (panel.folder / "report.html").exists()


def test_cancel_stops_the_run_and_leaves_nothing_running(qtbot: QtBot, qwen3_gguf: Path) -> None:
    panel = make_panel(qtbot, model=str(qwen3_gguf))
    panel.kind.setCurrentText("gsm8k")
    panel.limit.setValue(0)
    panel.seeds.setText("1,2,3,4,5,6,7,8,9,10")
    panel.max_tokens.setValue(64)
    with qtbot.waitSignal(panel.runFinished, timeout=120_000) as finished:
        assert panel.start()
        qtbot.waitUntil(lambda: panel.table.rowCount() >= 2, timeout=60_000)
        panel.cancel()
    report = finished.args[0]
    assert isinstance(report, dict) and not report["complete"]
    assert 2 <= report["tasks_finished"] < 100
    assert panel.status.text().startswith("Cancelled")
    assert not panel.running and panel.run_button.isEnabled()
    panel.tasks.wait(10_000)  # the job's thread ends; its engine process is gone (no_leftovers checks)


def test_cancel_while_the_model_loads(qtbot: QtBot, qwen3_gguf: Path) -> None:
    panel = make_panel(qtbot, model=str(qwen3_gguf))
    with qtbot.waitSignal(panel.runFinished, timeout=60_000):
        assert panel.start()
        panel.cancel()
    assert not panel.running
    panel.tasks.wait(10_000)


def test_bad_input_is_refused_with_a_message(qtbot: QtBot, tmp_path: Path) -> None:
    panel = make_panel(qtbot)
    assert not panel.start()  # a model run with no model
    assert "model" in panel.status.text()
    panel.mode.setCurrentIndex(1)
    panel.seeds.setText("one, two")
    assert not panel.start()
    assert "Seeds" in panel.status.text()
    panel.seeds.setText("1")
    (tmp_path / "bad.jsonl").write_text("not json\n", encoding="utf-8")
    panel.kind.setCurrentText("gsm8k")
    panel.data_path.setText(str(tmp_path / "bad.jsonl"))
    assert run_and_wait(qtbot, panel) is None
    assert "Line 1" in panel.status.text() and panel.run_button.isEnabled()


def test_the_window_opens_the_panel_from_the_model_menu(qtbot: QtBot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    actions = next(a for a in window.menuBar().actions() if a.text() == "&Model").menu().actions()
    evaluate = next(a for a in actions if a.text() == "Evaluate…")
    evaluate.trigger()
    panel = window.evaluation
    assert panel is not None and window.bottom_tabs.currentWidget() is panel
    assert window.open_evaluation() is panel  # created once
    assert window.bottom_dock.isVisible()
    assert panel.run_on.currentText() == "This computer"  # the active connection
    # A profile added in the settings is offered the next time the panel is opened.
    from app.core.settings import ConnectionProfile

    window.settings.connections.profiles.append(ConnectionProfile(name="GPU box", base_url="http://10.0.0.2:8000"))
    window.open_evaluation()
    assert panel.run_on.findText("GPU box (server)") >= 0
    assert panel.run_on.currentText() == "This computer"  # the choice is kept


def _with_server_profile(url: str, active: bool = True) -> Settings:
    from app.core.settings import ConnectionProfile

    settings = Settings()
    settings.connections.profiles.append(ConnectionProfile(name="Team vLLM", base_url=url))
    if active:
        settings.connections.active = "Team vLLM"
    return settings


def test_a_run_on_the_active_server_profile_with_requests_in_flight(qtbot: QtBot) -> None:
    from app.core.bench.fake_eval_server import FakeEvalServer

    with FakeEvalServer(latency=0.05) as server:
        settings = _with_server_profile(server.base_url)
        panel = EvaluatePanel(lambda: None, lambda: settings)
        qtbot.addWidget(panel)
        panel.resize(1100, 420)
        panel.show()
        # The active connection is offered, with requests in flight; the GGUF browser is off.
        assert panel.run_on.currentText() == "Team vLLM (server)"
        assert panel.concurrency.isEnabled() and panel.concurrency.value() == 8
        assert not panel.browse_model.isEnabled() and "model name on the server" in panel.model_path.placeholderText()
        panel.kind.setCurrentText("gsm8k")
        panel.limit.setValue(0)
        panel.seeds.setText("1,2")
        panel.concurrency.setValue(4)
        report = run_and_wait(qtbot, panel)
        assert server.max_in_flight > 1
    assert isinstance(report, dict) and report["complete"] and report["tasks_finished"] == 20
    assert report["server"]["model"] == "fake-qwen3" and report["server"]["concurrency"] == 4
    assert panel.table.rowCount() == 20
    assert "requests/s" in report_markdown(panel)
    assert panel.folder is not None and panel.folder.name == "gsm8k-server-fake-qwen3"
    # Back to this computer: one request at a time, the GGUF browser again.
    panel.run_on.setCurrentIndex(panel.run_on.findData("This computer"))
    assert not panel.concurrency.isEnabled() and panel.concurrency.value() == 1 and panel.browse_model.isEnabled()


def test_a_server_that_is_down_is_one_sentence_in_the_panel(qtbot: QtBot) -> None:
    from app.core.bench.llama_server import free_port

    settings = _with_server_profile(f"http://127.0.0.1:{free_port()}/v1")
    panel = EvaluatePanel(lambda: None, lambda: settings)
    qtbot.addWidget(panel)
    panel.show()
    assert run_and_wait(qtbot, panel) is None
    assert "connection was refused" in panel.status.text()
    assert panel.run_button.isEnabled() and not panel.running


def report_markdown(panel: EvaluatePanel) -> str:
    assert panel.folder is not None
    return (panel.folder / "report.md").read_text(encoding="utf-8")
