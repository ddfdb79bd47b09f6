"""Runs a code block from the chat in the sandbox, off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Signal

from app.core.errors import QuillpadError
from app.core.sandbox.runner import SandboxResult, run_python


class SandboxSignals(QObject):
    finished = Signal(object)  # SandboxResult
    failed = Signal(str)


class SandboxJob(QRunnable):
    """Run Python ``code`` in the sandbox; report plain data."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.signals = SandboxSignals()

    def run(self) -> None:
        try:
            result = run_python(self.code)
        except QuillpadError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # shown as a sentence, never a traceback
            self.signals.failed.emit(f"The sandbox failed unexpectedly ({err}); see the log file.")
        else:
            self.signals.finished.emit(result)


def result_markdown(result: SandboxResult) -> str:
    """How a run is shown in the chat: summary, output, notes."""
    fence = "````"
    lines = [f"**Ran in the sandbox** — {result.summary()} ({result.wall_seconds:.2f} s)"]
    for title, text, cut in (
        ("Output", result.stdout, result.stdout_truncated),
        ("Errors", result.stderr, result.stderr_truncated),
    ):
        if text:
            note = " (cut: the program printed more)" if cut else ""
            lines.append(f"\n{title}{note}:\n{fence}text\n{text.rstrip()}\n{fence}")
    lines += [f"\n*{note}*" for note in result.notes]
    return "\n".join(lines)
