"""A static look at generated Python before it is applied or run.

Bandit's checks run in this process on the text itself (no file is written,
nothing is imported or executed), with ``# nosec`` comments ignored, since a
model can write those too. Bandit has no check for deleting files, so a
small visitor of our own adds one. The walk stops at a deadline, and text
too big or too broken to parse is reported as not scanned rather than safe.
"""

from __future__ import annotations

import ast
import importlib
import io
import logging
import threading
import time
import warnings
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 5.0
MAX_SCAN_CHARS = 1_000_000
DELETION_TEST_ID = "QP001"

Severity = Literal["LOW", "MEDIUM", "HIGH"]
Category = Literal["shell", "code execution", "deserialisation", "file deletion", "network", "other"]

# Plain-language descriptions of the checks that matter most for generated code.
_PLAIN: dict[str, tuple[Category, str]] = {
    "B102": ("code execution", "Runs a string as Python code (exec), with your permissions."),
    "B307": ("code execution", "Evaluates a string as Python (eval); ast.literal_eval is the safe way to read data."),
    "B301": ("deserialisation", "Loads pickled data, which runs code hidden in it if the data is not yours."),
    "B302": ("deserialisation", "Loads marshalled data, which is unsafe for data that is not yours."),
    "B403": ("deserialisation", "Imports pickle-style loading, which is unsafe for data that is not yours."),
    "B506": ("deserialisation", "Reads YAML with yaml.load, which can build any object; yaml.safe_load is safe."),
    "B614": ("deserialisation", "Loads a PyTorch file with torch.load, which can run code hidden in it."),
    "B602": ("shell", "Runs a command through the shell (shell=True); crafted input could run other commands."),
    "B604": ("shell", "Runs a command through the shell; crafted input could run other commands."),
    "B605": ("shell", "Starts a program through the shell (os.system or similar)."),
    "B606": ("shell", "Starts another program."),
    "B603": ("shell", "Starts another program with subprocess."),
    "B607": ("shell", "Starts a program found through PATH rather than by its full path."),
    "B404": ("shell", "Imports subprocess, which starts other programs."),
    "B609": ("shell", "Passes a wildcard to a shell command, which the shell may expand unexpectedly."),
    "B310": ("network", "Opens a URL, which may also read local files or contact any server."),
    "B113": ("network", "Makes a web request without a timeout, which can hang for ever."),
    "B501": ("network", "Turns off certificate checks for a web request."),
    "B108": ("other", "Uses a fixed path in a shared temporary folder, which other users can interfere with."),
    "B306": ("other", "Creates a temporary file name with mktemp, which is open to races; use mkstemp."),
    DELETION_TEST_ID: ("file deletion", "Deletes files or folders."),
}


@dataclass(frozen=True)
class Finding:
    """One risky call: where it is, what bandit calls it and what it means."""

    line: int
    test_id: str
    test_name: str
    severity: Severity
    confidence: Severity
    category: Category
    description: str  # one plain sentence for the user
    detail: str  # bandit's own wording
    code: str  # the line itself


@dataclass(frozen=True)
class SafetyReport:
    """Findings for one text; ``scanned`` is False when the scan could not finish."""

    findings: tuple[Finding, ...]
    scanned: bool = True
    reason: str | None = None  # why the scan did not finish

    @property
    def risky(self) -> bool:
        return bool(self.findings) or not self.scanned

    def on_lines(self, lines: set[int]) -> tuple[Finding, ...]:
        """The findings on the given (1-based) lines, such as a diff's added ones."""
        return tuple(finding for finding in self.findings if finding.line in lines)


class _Deadline(Exception):
    pass


_DELETERS = {
    ("os", "remove"),
    ("os", "unlink"),
    ("os", "rmdir"),
    ("os", "removedirs"),
    ("shutil", "rmtree"),
    ("send2trash", "send2trash"),
}
_DELETING_METHODS = {"unlink", "rmdir", "rmtree"}


def _deletions(tree: ast.AST, deadline: float) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for count, node in enumerate(ast.walk(tree)):
        if count % 256 == 0 and time.monotonic() > deadline:
            raise _Deadline
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if (owner, func.attr) in _DELETERS or func.attr in _DELETING_METHODS:
                found.append((node.lineno, f"{owner + '.' if owner else '.'}{func.attr}()"))
        elif isinstance(func, ast.Name) and func.id in {"rmtree", "unlink", "remove", "rmdir", "removedirs"}:
            found.append((node.lineno, f"{func.id}()"))
    return found


_bandit_modules: dict[str, Any] = {}
_test_set: Any = None
_bandit_lock = threading.Lock()


def _bandit(name: str) -> Any:
    """A ``bandit.core`` module, imported by name: bandit ships no type information."""
    with _bandit_lock:
        if not _bandit_modules:
            # Bandit's plugin loader passes stevedore an argument it has
            # deprecated; the warning says nothing about our code.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                for module in ("config", "test_set", "meta_ast", "metrics", "node_visitor"):
                    _bandit_modules[module] = importlib.import_module(f"bandit.core.{module}")
            # Bandit warns through its own logger about things that are not
            # problems here (a module with no package, say).
            logging.getLogger("bandit").setLevel(logging.ERROR)
        return _bandit_modules[name]


def _bandit_test_set() -> Any:
    """Bandit's checks, loaded once (they come from entry points)."""
    global _test_set
    if _test_set is None:
        test_set, config = _bandit("test_set"), _bandit("config")
        with _bandit_lock:
            if _test_set is None:
                _test_set = test_set.BanditTestSet(config.BanditConfig(), {})
    return _test_set


def _bandit_issues(source: str, deadline: float) -> list[Any]:
    meta_ast, metrics, node_visitor = _bandit("meta_ast"), _bandit("metrics"), _bandit("node_visitor")

    base: Any = node_visitor.BanditNodeVisitor

    class DeadlineVisitor(base):  # type: ignore[misc]  # bandit is untyped: its visitor class is an Any
        def pre_visit(self, node: ast.AST) -> bool:
            if time.monotonic() > deadline:
                raise _Deadline
            return bool(super().pre_visit(node))

    data = source.encode("utf-8", errors="surrogatepass")
    counts = metrics.Metrics()
    counts.begin("./generated.py")
    # An empty nosec table: generated code does not get to silence the scan.
    visitor = DeadlineVisitor(
        "./generated.py", io.BytesIO(data), meta_ast.BanditMetaAst(), _bandit_test_set(), False, {}, counts
    )
    visitor.process(data)
    return list(visitor.tester.results)


_LEVELS: dict[str, Severity] = {"LOW": "LOW", "MEDIUM": "MEDIUM", "HIGH": "HIGH"}


def _level(value: object) -> Severity:
    return _LEVELS.get(str(value).upper(), "LOW")


def scan_python(source: str, time_limit: float = DEFAULT_TIME_LIMIT) -> SafetyReport:
    """Risky calls in ``source`` (Python), sorted by line; never runs the code."""
    if len(source) > MAX_SCAN_CHARS:
        return SafetyReport((), False, "The code is too long to scan; review it yourself before running it.")
    deadline = time.monotonic() + time_limit
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return SafetyReport((), False, "The code is not valid Python, so it could not be scanned.")
    lines = source.splitlines()

    def code_at(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""

    findings: list[Finding] = []
    try:
        for issue in _bandit_issues(source, deadline):
            test_id = str(issue.test_id)
            category, plain = _PLAIN.get(test_id, ("other", str(issue.text)))
            line = int(issue.lineno or 0)
            findings.append(
                Finding(
                    line=line,
                    test_id=test_id,
                    test_name=str(issue.test),
                    severity=_level(issue.severity),
                    confidence=_level(issue.confidence),
                    category=category,
                    description=plain,
                    detail=str(issue.text),
                    code=code_at(line),
                )
            )
        for line, call in _deletions(tree, deadline):
            category, plain = _PLAIN[DELETION_TEST_ID]
            findings.append(
                Finding(line, DELETION_TEST_ID, "file_deletion", "MEDIUM", "HIGH", category, plain, call, code_at(line))
            )
    except _Deadline:
        return SafetyReport(
            tuple(findings), False, f"The safety scan stopped after {time_limit:g} s; review the code yourself."
        )
    except (RecursionError, MemoryError):
        return SafetyReport(tuple(findings), False, "The code is too deeply nested to scan; review it yourself.")
    except Exception:
        log.exception("bandit failed on generated code")
        return SafetyReport(tuple(findings), False, "The safety scan failed; review the code yourself.")
    findings.sort(key=lambda finding: (finding.line, finding.test_id))
    return SafetyReport(tuple(findings))


def is_python_path(name: str) -> bool:
    """Whether a file name is one the scan applies to."""
    return name.lower().endswith((".py", ".pyw", ".pyi"))
