"""Test results from pytest's JUnit XML, read with junitparser."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from junitparser import Attr, Error, Failure, JUnitXml, Skipped, TestCase

from app.core.errors import QuillpadError

Outcome = Literal["passed", "failed", "error", "skipped"]


class ReportError(QuillpadError):
    """The JUnit report is missing or unreadable."""


@dataclass(frozen=True)
class CaseResult:
    """One test's result."""

    nodeid: str
    file: str
    name: str
    classname: str
    line: int | None
    outcome: Outcome
    duration: float
    message: str = ""
    details: str = ""


@dataclass(frozen=True)
class TestReport:
    """All results of a run, flat; ``tree()`` groups them for display."""

    cases: list[CaseResult] = field(default_factory=list)

    __test__ = False  # not a pytest class, despite the name

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(case.outcome for case in self.cases)
        return {key: counts.get(key, 0) for key in ("passed", "failed", "error", "skipped")}

    @property
    def problems(self) -> list[CaseResult]:
        return [case for case in self.cases if case.outcome in ("failed", "error")]

    def tree(self) -> dict[str, dict[str, list[CaseResult]]]:
        """file -> class (or "") -> cases, in report order."""
        tree: dict[str, dict[str, list[CaseResult]]] = {}
        for case in self.cases:
            last = case.classname.split(".")[-1]
            cls = last if last[:1].isupper() else ""
            tree.setdefault(case.file or "(collection)", {}).setdefault(cls, []).append(case)
        return tree


class PytestCase(TestCase):  # type: ignore[misc]  # junitparser has no type hints
    """A ``<testcase>`` as pytest writes it: junitparser's, plus the file and line attributes
    (the way junitparser documents for reading custom attributes)."""

    file = Attr()
    line = Attr()


def _file_of(classname: str, file_attr: str | None) -> str:
    if file_attr:
        return file_attr
    # pytest writes "pkg.test_mod.TestClass" as classname; turn it into a path.
    parts = classname.split(".")
    while parts and parts[-1][:1].isupper():
        parts.pop()
    return "/".join(parts) + ".py" if parts else ""


def _nodeid(file: str, classname: str, name: str) -> str:
    cls = [part for part in classname.split(".") if part[:1].isupper()]
    return "::".join([file, *cls, name]) if file else name


def parse_junit(path: str | Path) -> TestReport:
    """Read a pytest JUnit XML file."""
    try:
        xml = JUnitXml.fromfile(str(path))
    except FileNotFoundError:
        raise ReportError("pytest wrote no report; the run probably stopped before collecting tests.") from None
    except Exception as err:  # junitparser raises various XML errors
        raise ReportError(f"The test report could not be read ({err}); run the tests again.") from None
    cases: list[CaseResult] = []
    suites = xml if hasattr(xml, "__iter__") and not hasattr(xml, "classname") else [xml]
    for suite in suites:
        for plain_case in suite:
            case = PytestCase.fromelem(plain_case)
            outcome: Outcome = "passed"
            message = details = ""
            for result in case.result:
                if isinstance(result, Error):
                    outcome = "error"
                elif isinstance(result, Failure):
                    outcome = "failed"
                elif isinstance(result, Skipped):
                    outcome = "skipped"
                message = result.message or ""
                details = result.text or ""
            classname = case.classname or ""
            file = _file_of(classname, case.file)
            line = case.line
            cases.append(
                CaseResult(
                    nodeid=_nodeid(file, classname, case.name or ""),
                    file=file,
                    name=case.name or "",
                    classname=classname,
                    line=int(line) + 1 if line is not None and str(line).isdigit() else None,
                    outcome=outcome,
                    duration=float(case.time or 0.0),
                    message=message,
                    details=details,
                )
            )
    return TestReport(cases)
