"""``quillpad bench ui``: does streaming keep the window responsive?

A real window streams fixed-length replies from a model at full speed while
a 5 ms heartbeat timer runs on the GUI thread. A late heartbeat is a stall
the user would feel. The GUI-thread cost of handling each token is measured
at the first and the last reply, to show it does not grow with the length
of the conversation.
"""

from __future__ import annotations

import itertools
import statistics
import time
from dataclasses import dataclass, field

from PySide6.QtCore import QCoreApplication, QEvent, QTimer

from app.core.errors import QuillpadError

HEARTBEAT_MS = 5


@dataclass
class ReplyFigures:
    """One streamed reply."""

    number: int
    tokens: int
    seconds: float
    render_us_per_token: float
    worst_ms: float
    p99_ms: float


@dataclass
class UiBenchResult:
    model: str
    replies: list[ReplyFigures] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"model: {self.model}   heartbeat: every {HEARTBEAT_MS} ms on the GUI thread",
            "",
            f"{'reply':>5}{'tokens':>8}{'tok/s':>9}{'GUI µs/token':>14}{'worst stall ms':>16}{'p99 ms':>8}",
        ]
        for r in self.replies:
            rate = r.tokens / r.seconds if r.seconds else 0.0
            lines.append(
                f"{r.number:>5}{r.tokens:>8}{rate:>9.0f}{r.render_us_per_token:>14.1f}{r.worst_ms:>16.1f}{r.p99_ms:>8.1f}"
            )
        worst = max((r.worst_ms for r in self.replies), default=0.0)
        first, last = self.replies[0], self.replies[-1]
        growth = last.render_us_per_token / first.render_us_per_token if first.render_us_per_token else 0.0
        lines += [
            "",
            f"worst stall over all replies: {worst:.1f} ms   target < 50 ms",
            f"GUI cost per token, reply {last.number} vs reply {first.number}: {growth:.2f}x   target: no growth (~1x)",
        ]
        return "\n".join(lines)


def _delays(ticks: list[float]) -> list[float]:
    """How late each heartbeat was, in ms."""
    return [max(0.0, (b - a) * 1000 - HEARTBEAT_MS) for a, b in itertools.pairwise(ticks)]


def run_ui_bench(model: str, tokens: int = 2000, replies: int = 20, timeout: float = 300.0) -> UiBenchResult:
    """Stream ``replies`` replies of ``tokens`` tokens each; measure the 1st and the last."""
    from app.core.paths import app_paths
    from app.core.settings import load_settings
    from app.ui.shell.main_window import MainWindow
    from app.ui.shell.scripted_session import wait_until

    paths = app_paths()
    window = MainWindow(paths, load_settings(paths))
    window.resize(1400, 860)
    window.show()
    result = UiBenchResult(model=model)
    try:
        if not wait_until(lambda: window.chat.view.is_ready, 30):
            raise QuillpadError("The chat view did not load, so nothing could be measured.")
        window.models.auto_load = True
        window.models.inspect(model)
        if not wait_until(lambda: window.chat.model_ready or window.banner.restart_button.isVisible(), timeout):
            raise QuillpadError("The model did not load in time.")
        if not window.chat.model_ready:
            raise QuillpadError(f"The model could not be loaded: {window.banner.text.text()}")
        window.chat.request_overrides = {"max_tokens": tokens, "ignore_eos": True, "thinking": False}
        for number in range(1, replies + 1):
            ticks: list[float] = []
            heartbeat = QTimer()
            heartbeat.setInterval(HEARTBEAT_MS)
            heartbeat.timeout.connect(lambda t=ticks: t.append(time.perf_counter()))
            window.chat.render_seconds = 0.0
            started = time.perf_counter()
            heartbeat.start()
            window.chat.ask(f"Reply {number}: write as much as you can.")
            if not wait_until(lambda: not window.chat.busy, timeout):
                raise QuillpadError(f"Reply {number} did not finish in time.")
            heartbeat.stop()
            seconds = time.perf_counter() - started
            if number in (1, replies):
                delays = _delays(ticks) or [0.0]
                result.replies.append(
                    ReplyFigures(
                        number=number,
                        tokens=tokens,
                        seconds=seconds,
                        render_us_per_token=window.chat.render_seconds / tokens * 1e6,
                        worst_ms=max(delays),
                        p99_ms=statistics.quantiles(delays, n=100)[98] if len(delays) >= 2 else delays[0],
                    )
                )
    finally:
        window.shutdown()
        window.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return result
