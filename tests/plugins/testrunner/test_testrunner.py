"""The test-runner plugin headless: /test, /fix with a scripted model, re-run after applying."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.core.chat.commands import run_result
from app.core.edits.commit import apply_proposal
from app.core.edits.document import MemoryEditor
from app.core.plugins.context import PluginHost
from app.core.plugins.manager import PluginManager
from app.core.plugins.notify import ListNotifier
from app.core.plugins.state import PluginStateStore
from app.core.testing.runner import TestRun
from plugins.testrunner import plugin as testrunner
from plugins.testrunner.fix import files_in_trace
from tests.fixtures.project_python import set_project_python
from tests.fixtures.scripted_model import ScriptedModel

PRICE = "def total(prices):\n    return sum(prices) + 1\n"
TEST = "from shop.price import total\n\n\ndef test_total():\n    assert total([1, 2]) == 3\n"
FIX = """shop/price.py
```python
<<<<<<< SEARCH
    return sum(prices) + 1
=======
    return sum(prices)
>>>>>>> REPLACE
```
"""


class RootOnly:
    """The project as the plugin needs it here: a root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def files(self) -> list[Path]:
        return []

    def search(self, query: str, k: int = 8) -> list[object]:
        return []

    def assemble_context(self, query: str, max_chars: int) -> str:
        return ""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "shop-project"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "price.py").write_text(PRICE)
    (root / "test_price.py").write_text(TEST)
    (root / "pyproject.toml").write_text('[tool.pytest.ini_options]\npythonpath = ["."]\n')
    return root


def manager_for(project: Path, model: ScriptedModel | None = None) -> PluginManager:
    testrunner.panel = None
    testrunner.last = None
    host = PluginHost(notifier=ListNotifier(), model=model, project=RootOnly(project), editor=MemoryEditor())
    manager = PluginManager(host, PluginStateStore(project.parent / "plugins.json"))
    manager.register(testrunner, "testrunner")
    return manager


def test_slash_test_runs_the_suite(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_project_python(project, sys.executable)  # the project's Python, set as in Settings ▸ Project
    result = manager_for(project).dispatch("/test")
    assert "1 failed" in result.message and "test_price.py::test_total" in result.message
    assert "/fix" in result.message


def test_fix_proposes_an_edit_and_the_test_then_passes(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_project_python(project, sys.executable)  # the project's Python, set as in Settings ▸ Project
    model = ScriptedModel([FIX])
    manager = manager_for(project, model)
    manager.dispatch("/test")
    outcome = run_result(manager.dispatch("/fix"), model)
    sent = model.requests[0][0][-1].content
    assert "test_price.py::test_total" in sent and "return sum(prices) + 1" in sent  # code under test went along
    proposal = outcome.proposal
    assert proposal is not None and [change.key for change in proposal.changes] == ["shop/price.py"]
    apply_proposal(proposal, proposal.accept_all())  # headless: written to disk
    assert (project / "shop" / "price.py").read_text() == "def total(prices):\n    return sum(prices)\n"
    again = TestRun(project, [case.nodeid for case in testrunner.last.report.problems]).run()  # type: ignore[union-attr]
    assert again.report.counts["passed"] == 1 and not again.report.problems


def test_fix_without_a_failure_or_project(tmp_path: Path, project: Path) -> None:
    assert "run /test first" in manager_for(project).dispatch("/fix").message


def test_files_in_trace_stay_inside_the_project(project: Path) -> None:
    from app.core.testing.junit import CaseResult

    case = CaseResult(
        "test_price.py::test_total", "test_price.py", "test_total", "test_price", 5, "failed", 0.0,
        details='File "/usr/lib/python3/x.py", line 3\nshop/price.py:2: AssertionError',
    )  # fmt: skip
    assert files_in_trace(case, project) == ["test_price.py", "shop/price.py"]
