"""Running pytest for a project: own interpreter, own process group, timeout, stop.

Output is streamed line by line to a callback and kept only up to a cap; the
results come from pytest's JUnit XML. When the run ends for any reason, the
whole process group is killed, so tests that fork children leave nothing.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.frozen import external_env
from app.core.testing.interpreter import ProjectPython, find_project_python
from app.core.testing.junit import ReportError, TestReport, parse_junit

OUTPUT_CAP = 2 * 1024**2  # characters of output kept for the panel


class TestRunError(QuillpadError):
    """The tests could not be run at all."""

    __test__ = False


@dataclass(frozen=True)
class TestRunResult:
    """How a run went."""

    report: TestReport
    exit_code: int | None
    timed_out: bool
    stopped: bool
    output: str
    output_truncated: bool
    seconds: float
    python: ProjectPython
    message: str = ""  # one sentence when the run did not simply pass or fail
    command: list[str] = field(default_factory=list)

    __test__ = False


def _exit_message(code: int | None, report: TestReport) -> str:
    if code == 5:
        return "pytest found no tests; name test files test_*.py and test functions test_*."
    if code == 2 and report.counts["error"]:
        return "Some test files could not be collected; see the errors."
    if code == 2:
        return "The run was interrupted (by a collection error or a test that called exit)."
    if code == 3:
        return "pytest had an internal error; see the output."
    if code == 4:
        return "pytest was called wrongly; check the extra arguments."
    return ""


# Interpreters (path, mtime) known to have pytest; a reinstalled interpreter is asked again.
_HAS_PYTEST: set[tuple[str, int]] = set()


def _interpreter_key(path: str) -> tuple[str, int] | None:
    try:
        return path, Path(path).stat().st_mtime_ns
    except OSError:
        return None


class TestRun:
    """One pytest run; ``run()`` blocks, ``stop()`` may come from another thread."""

    __test__ = False

    def __init__(
        self,
        root: str | Path,
        args: Sequence[str] = (),
        *,
        python: str | None = None,
        timeout: float = 600.0,
        on_output: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise TestRunError(f"{self.root} is not a folder; open the project folder first.")
        self.python = find_project_python(self.root, python)
        self.args = list(args)
        self.timeout = timeout
        self.on_output = on_output
        self._process: subprocess.Popen[bytes] | None = None
        self._stopped = threading.Event()
        self._timed_out = threading.Event()

    def stop(self) -> None:
        """End the run and everything it started."""
        self._stopped.set()
        self._kill()

    def _on_timeout(self) -> None:
        self._timed_out.set()
        self._kill()

    def _kill(self) -> None:
        process = self._process
        if process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)

    def check_pytest(self) -> None:
        """Raise ``TestRunError`` naming the project's interpreter if it cannot import pytest.

        The answer is remembered per interpreter file (path and modification
        time), so asking again before each run costs nothing.
        """
        key = _interpreter_key(self.python.path)
        if key is not None and key in _HAS_PYTEST:
            return
        probe = subprocess.run(
            [self.python.path, "-c", "import pytest"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=external_env(),
        )
        if probe.returncode != 0:
            raise TestRunError(
                f"pytest is not installed for the project's Python {self.python.describe()}; "
                f"install it with: {self.python.path} -m pip install pytest"
            )
        if key is not None:
            _HAS_PYTEST.add(key)

    def run(self) -> TestRunResult:
        """Run the tests and return the results (raises TestRunError if they cannot run)."""
        self.check_pytest()
        with tempfile.TemporaryDirectory(prefix="quillpad-tests-") as tmp:
            report_path = Path(tmp) / "junit.xml"
            command = [
                self.python.path,
                "-m",
                "pytest",
                f"--junitxml={report_path}",
                "-o",
                "junit_family=xunit1",  # xunit1 keeps file and line per test
                "--color=no",
                *self.args,
            ]
            started = time.monotonic()
            env = dict(external_env(), PYTHONUNBUFFERED="1")
            try:
                self._process = subprocess.Popen(
                    command,
                    cwd=self.root,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as err:
                raise TestRunError(f"The tests could not start ({err.strerror}); check the project's Python.") from None
            timer = threading.Timer(self.timeout, self._on_timeout)
            timer.start()
            kept: list[str] = []
            size = 0
            truncated = False
            try:
                assert self._process.stdout is not None
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                # Chunks, not lines: one 100 MB line must not be held whole.
                stream = self._process.stdout
                while chunk := os.read(stream.fileno(), 65536):
                    text = decoder.decode(chunk)
                    if self.on_output and text:
                        self.on_output(text)
                    room = OUTPUT_CAP - size
                    if room > 0:
                        kept.append(text[:room])
                        size += len(kept[-1])
                    if len(text) > max(room, 0):
                        truncated = True
                code = self._process.wait()
            finally:
                timer.cancel()
                self._kill()  # children the tests left behind
                if self._process.stdout:
                    self._process.stdout.close()
            seconds = time.monotonic() - started
            timed_out = self._timed_out.is_set() and not self._stopped.is_set()
            try:
                report = parse_junit(report_path)
            except ReportError:
                report = TestReport()
            message = ""
            if timed_out:
                message = f"The tests ran longer than {self.timeout:.0f} s and were stopped; a test may loop for ever."
            elif self._stopped.is_set():
                message = "The run was stopped."
            else:
                message = _exit_message(code, report)
            return TestRunResult(
                report=report,
                exit_code=code if code >= 0 else None,
                timed_out=timed_out,
                stopped=self._stopped.is_set(),
                output="".join(kept),
                output_truncated=truncated,
                seconds=seconds,
                python=self.python,
                message=message,
                command=command,
            )
