"""A scripted run of the real window: ``quillpad screenshot`` and ``quillpad selftest``.

Opens the main window (offscreen when there is no display), optionally loads
a model, opens a file and streams one reply, then saves a picture of the
whole window. Each step reports whether it worked.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer, SignalInstance
from PySide6.QtWidgets import QWidget

from app.core.paths import app_paths
from app.core.settings import load_settings
from app.ui.shell.application import application

if TYPE_CHECKING:
    from app.ui.shell.main_window import MainWindow


@dataclass(frozen=True)
class Step:
    """One step of the session and how it went."""

    name: str
    ok: bool
    detail: str = ""


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``condition`` holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    loop = QEventLoop()
    while not condition():
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def wait_for_signal(signal: SignalInstance, condition: Callable[[], bool], timeout: float) -> bool:
    """Run the event loop until ``condition`` holds, checking it only when ``signal`` fires.

    For waits that must not disturb what they wait for: ``wait_until`` wakes
    the GUI thread 50 times a second, which cost about 1.4 % of a core while
    a reply streamed (``quillpad bench ui`` measures that reply).
    """
    if condition():
        return True
    loop = QEventLoop()

    def check(*_args: object) -> None:
        if condition():
            loop.quit()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    signal.connect(check)
    try:
        timer.start(max(0, round(timeout * 1000)))
        loop.exec()
    finally:
        signal.disconnect(check)
        timer.stop()
    return condition()


def run_scripted_session(
    out: Path | None = None,
    model: str | None = None,
    open_file: str | None = None,
    prompt: str | None = None,
    timeout: float = 180.0,
    size: tuple[int, int] = (1400, 860),
    theme: str | None = None,
    show: str | None = None,
) -> list[Step]:
    """Drive the window through the requested steps; save a PNG to ``out``.

    ``theme`` ("light", "dark") overrides the saved one for this run; ``show``
    opens one more part first ("commit": the commit dialog of the opened file's
    repository, "models": the Models window, "evaluate": the Evaluate panel) —
    a dialog is saved on its own, the panel with the window.
    """
    application(headless=True)
    from app.ui.shell.main_window import MainWindow

    steps: list[Step] = []
    paths = app_paths()
    window = MainWindow(paths, load_settings(paths))
    window.resize(*size)
    if theme in ("light", "dark"):
        window.set_theme("dark" if theme == "dark" else "light")
    window.show()
    try:
        ready = wait_until(lambda: window.chat.view.is_ready, 30)
        steps.append(Step("open window", ready, "" if ready else "the chat view did not load"))
        steps.append(_plugins_step(window))
        steps.append(_sandbox_step())
        steps.append(_watch_step())

        if model:
            window.models.auto_load = True
            window.models.inspect(model)
            loaded = wait_until(
                lambda: window.chat.model_ready or window.banner.text.text().startswith("<span"), timeout
            )
            ok = loaded and window.chat.model_ready
            detail = window.model_label.text() if ok else _plain(window.banner.text.text()) or "timed out"
            steps.append(Step("load model", ok, detail))

        if open_file:
            ok = window.open_path(open_file)
            window.open_folder(str(Path(open_file).resolve().parent))
            steps.append(Step("open file", ok, open_file))

        if prompt:
            if not window.chat.model_ready:
                steps.append(Step("stream reply", False, "no model is loaded"))
            else:
                window.chat.ask(prompt)
                started = wait_until(lambda: window.chat.busy, 10)
                finished = started and wait_for_signal(window.chat.busyChanged, lambda: not window.chat.busy, timeout)
                answer = _last_answer(window)
                ok = finished and bool(answer)
                steps.append(Step("stream reply", ok, f"{len(answer)} characters" if ok else "no reply arrived"))

        shown: QWidget = window
        if show == "models":
            shown = window.model_manager.show_dialog()
        elif show == "evaluate":
            window.open_evaluation()
        elif show == "commit":
            wait_until(lambda: window.git.repo is not None, 30)
            dialog = window.git.open_commit_dialog()
            if dialog is None:
                steps.append(Step("open commit dialog", False, "no repository: --open a file inside one"))
            else:
                read = wait_until(lambda: not dialog.busy and dialog.state is not None, 30)
                if not read:
                    steps.append(Step("open commit dialog", False, "the repository was not read within 30 s"))
                shown = dialog
        wait_until(lambda: False, 0.5)  # let the page paint the last batch
        if out is not None:
            image = shown.grab()
            saved = image.save(str(out))
            steps.append(Step("save screenshot", saved, str(out)))
    finally:
        window.shutdown()
        window.deleteLater()
        # Delete the window (and its web page) now, before Qt WebEngine's
        # profile goes away with the application.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return steps


def _plugins_step(window: MainWindow) -> Step:
    """Plugins come from entry points: in a broken install (or a binary built without
    the app's metadata) none are found, and a failed one is turned off."""
    records = window.plugins.manager.records()
    failed = [f"{r.name}: {r.error}" for r in records if r.state == "failed"]
    if failed:
        return Step("load plugins", False, "; ".join(failed))
    if not records:
        return Step("load plugins", False, "no plugins were found (the quillpad.plugins entry points are missing)")
    return Step("load plugins", True, ", ".join(f"{r.id} ({r.state})" for r in records))


def _sandbox_step() -> Step:
    """What "Run in sandbox" does with a chat's code block, on a tiny program."""
    from app.core.errors import QuillpadError
    from app.core.frozen import user_code_python
    from app.core.sandbox.runner import run_python

    if user_code_python() is None:  # the desktop binary on a machine without Python
        return Step("run code in sandbox", True, "not available here: no Python 3 on PATH to run code with")
    try:
        # Our own trusted one-liner: it may run with limits only where the
        # system cannot isolate code (the sandbox lines of selftest say so).
        result = run_python("print(6 * 7)", allow_unisolated=True)
    except QuillpadError as err:
        return Step("run code in sandbox", False, str(err))
    ok = result.ok and result.stdout.strip() == "42"
    if not ok:
        said = result.stderr.strip().splitlines()[-1:] or [repr(result.stdout[:80])]
        return Step("run code in sandbox", False, f"{result.summary()} ({said[0]})")
    return Step("run code in sandbox", True, f"{result.wall_seconds:.2f} s, {result.isolation}")


def _watch_step() -> Step:
    """Whether a project's file watcher really delivers events here (the check every project open makes)."""
    from app.core.project.watch_check import check_watching

    result = check_watching()
    return Step("watch for changes", result.ok, result.detail)


def _plain(html_text: str) -> str:
    import re

    return re.sub(r"<[^>]+>", "", html_text)


def _last_answer(window: MainWindow) -> str:
    chat = window.chat
    if chat.conversation_id is None:
        return ""
    messages = chat.store.messages(chat.conversation_id)
    return str(messages[-1].content) if messages and messages[-1].role == "assistant" else ""
