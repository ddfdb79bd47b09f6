"""Runs a code block from the chat in the sandbox, off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, Signal

from app.core.errors import QuillpadError
from app.core.sandbox.isolation import IsolationUnavailable
from app.core.sandbox.runner import SandboxResult, run_python


class SandboxSignals(QObject):
    finished = Signal(object)  # SandboxResult
    failed = Signal(str)
    unisolated = Signal(str)  # this system cannot isolate code: the notice; nothing ran


class SandboxJob(QRunnable):
    """Run Python ``code`` in the sandbox; report plain data.

    Without isolation on this system the code runs only with
    ``allow_unisolated`` (the user agreed); otherwise ``unisolated`` carries
    the notice to ask with.
    """

    def __init__(self, code: str, allow_unisolated: bool = False) -> None:
        super().__init__()
        self.code = code
        self.allow_unisolated = allow_unisolated
        self.signals = SandboxSignals()

    def run(self) -> None:
        try:
            result = run_python(self.code, allow_unisolated=self.allow_unisolated)
        except IsolationUnavailable as err:
            self.signals.unisolated.emit(err.support.notice)
        except QuillpadError as err:
            self.signals.failed.emit(str(err))
        except Exception as err:  # shown as a sentence, never a traceback
            self.signals.failed.emit(f"The sandbox failed unexpectedly ({err}); see the log file.")
        else:
            self.signals.finished.emit(result)


def result_markdown(result: SandboxResult) -> str:
    """How a run is shown in the chat: summary, output, notes."""
    fence = "````"
    lines = [
        f"**Ran in the sandbox** — {result.summary()} ({result.wall_seconds:.2f} s)",
        f"\n*{result.isolation_text}*",
    ]
    for title, text, cut in (
        ("Output", result.stdout, result.stdout_truncated),
        ("Errors", result.stderr, result.stderr_truncated),
    ):
        if text:
            note = " (cut: the program printed more)" if cut else ""
            lines.append(f"\n{title}{note}:\n{fence}text\n{text.rstrip()}\n{fence}")
    lines += [f"\n*{note}*" for note in result.notes]
    return "\n".join(lines)
