"""The parent-side handle on the engine worker process.

``Engine`` starts the worker (spawn), loads models, streams replies as an
iterator of events, and survives the worker's death: a crash becomes an
``EngineError`` with the exit code or signal and the worker's last log lines,
and ``restart()`` brings the same model back. Nothing here blocks without a
way out: every wait also watches the worker's process sentinel.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent, RenderedPrompt, ThinkingText
from app.core.engine.options import ChatRequest, InvalidOptionError, LoadOptions, physical_cores
from app.core.engine.profiles import FamilyProfile, profile_for
from app.core.engine.worker import LOG_TAIL_LINES, WorkerLoad, worker_main
from app.core.errors import ModelFileError, QuillpadError
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.paths import app_paths

START_TIMEOUT = 60.0
POLL_SECONDS = 0.5


class EngineState(Enum):
    """What the engine is doing."""

    STOPPED = "stopped"  # no worker process
    IDLE = "idle"  # worker running, no model
    READY = "ready"  # model loaded, waiting
    LOADING = "loading"
    BUSY = "busy"  # streaming a reply
    CRASHED = "crashed"  # worker died; restart() to recover


class EngineBusyError(QuillpadError):
    """A request arrived while another is still running."""


class EngineCrashedError(QuillpadError):
    """The worker process died."""


@dataclass(frozen=True)
class LoadedModel:
    """A model the worker has loaded, with the settings it runs at."""

    info: ModelInfo
    profile: FamilyProfile
    options: LoadOptions
    context_length: int
    threads: int
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _describe_exit(exitcode: int | None) -> tuple[str, str | None]:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (often a sign of running out of memory)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}", name
    return f"exit code {exitcode}", None


def resolve_load_options(
    info: ModelInfo, profile: FamilyProfile, options: LoadOptions
) -> tuple[WorkerLoad, int, list[str]]:
    """Fill in defaults and clamp the context; returns the load, threads and warnings."""
    options.validate()
    warnings: list[str] = []
    trained = info.context_length or profile.default_context
    context = options.context_length or min(profile.default_context, trained)
    if context > trained and not options.allow_longer_context:
        warnings.append(
            f"A context of {context:,} tokens is more than {info.display_name} was trained for "
            f"({trained:,}); using {trained:,}. Allow a longer context in the settings to insist."
        )
        context = trained
    threads = options.threads or physical_cores()
    load = WorkerLoad(
        path=info.path,
        context_length=context,
        threads=threads,
        gpu_layers=options.gpu_layers,
        flash_attention=options.flash_attention,
        batch_size=options.batch_size,
        profile=profile,
        chat_template=info.chat_template,
        tensor_split=options.tensor_split,
    )
    return load, threads, warnings


class Engine:
    """Runs one model in a worker process. Thread-safe for ``stop()``; other
    calls are meant for one controlling thread at a time."""

    def __init__(self, log_path: Path | None = None) -> None:
        self._mp = multiprocessing.get_context("spawn")
        self._stop_flag: Any = self._mp.RawValue(ctypes.c_int, 0)
        self._process: Any = None
        self._conn: Connection | None = None
        self._lock = threading.Lock()
        self._state = EngineState.STOPPED
        self._loaded: LoadedModel | None = None
        self._last_load: tuple[str, LoadOptions] | None = None
        self.log_path = log_path or app_paths().log_dir / "engine-worker.log"
        self.worker_pid: int | None = None

    # -- lifecycle -------------------------------------------------------

    @property
    def state(self) -> EngineState:
        if self._process is not None and not self._process.is_alive() and self._state != EngineState.STOPPED:
            self._state = EngineState.CRASHED
        return self._state

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def start(self) -> None:
        """Start the worker process if it is not running."""
        if self._process is not None and self._process.is_alive():
            return
        self._discard_process()
        parent, child = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=worker_main,
            args=(child, self._stop_flag, str(self.log_path)),
            name="quillpad-engine",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, parent
        message = self._receive(START_TIMEOUT)
        if not (isinstance(message, tuple) and message[0] == "ready"):
            self._state = EngineState.CRASHED
            raise EngineCrashedError("The model engine did not start; see the log file for details.")
        self.worker_pid = int(message[1])
        self._state = EngineState.IDLE

    def close(self) -> None:
        """Stop the worker and wait for it to end."""
        if self._conn is not None and self._process is not None and self._process.is_alive():
            self._stop_flag.value = 1
            with contextlib.suppress(BrokenPipeError, OSError):
                self._conn.send({"op": "quit"})
            self._process.join(5)
        self._discard_process()
        self._state = EngineState.STOPPED
        self._loaded = None

    def kill(self) -> None:
        """End the worker at once, from any thread (app shutdown, a stuck load).

        A call blocked waiting on the worker notices through the process
        sentinel and returns; the engine is then ``CRASHED`` until restarted.
        """
        process = self._process
        if process is not None and process.is_alive():
            process.kill()

    def _discard_process(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join(5)
            self._process.close()
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._conn = None
        self.worker_pid = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- talking to the worker ------------------------------------------

    def _receive(self, timeout: float | None = None) -> Any:
        """Next message from the worker; raises ``EngineCrashedError`` if it died."""
        assert self._conn is not None and self._process is not None
        remaining = timeout
        while True:
            step = POLL_SECONDS if remaining is None else min(POLL_SECONDS, remaining)
            ready = wait([self._conn, self._process.sentinel], step)
            if self._conn in ready:
                try:
                    return self._conn.recv()
                except (EOFError, OSError):
                    pass  # fall through: the worker died
                else:
                    continue  # pragma: no cover - recv returned above
            if self._process.sentinel in ready or not self._process.is_alive():
                if self._conn.poll(0):
                    try:
                        return self._conn.recv()
                    except (EOFError, OSError):
                        pass
                self._process.join(1)
                self._state = EngineState.CRASHED
                raise EngineCrashedError(self.crash_message())
            if remaining is not None:
                remaining -= step
                if remaining <= 0:
                    raise EngineCrashedError("The model engine stopped responding; restart it.")

    def crash_message(self) -> str:
        how, _ = _describe_exit(self._process.exitcode if self._process else None)
        return f"The model engine stopped unexpectedly ({how}); restart the engine to reload the model."

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The worker's last log lines (what llama.cpp said before dying)."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()][-lines:]

    def _crash_event(self, answer: str = "", thinking: str = "") -> EngineError:
        exitcode = self._process.exitcode if self._process else None
        _, signal_name = _describe_exit(exitcode)
        return EngineError(
            self.crash_message(),
            crashed=True,
            exit_code=exitcode,
            signal=signal_name,
            log_tail=self.log_tail(),
            answer=answer,
            thinking=thinking,
        )

    # -- model ---------------------------------------------------------

    def load(self, path: str | Path, options: LoadOptions | None = None) -> LoadedModel:
        """Load a model (replacing any loaded one). Raises ``QuillpadError``.

        When a load with GPU settings fails (a refusal, or llama.cpp dying in
        the GPU backend), the model is loaded again on the CPU and the returned
        ``LoadedModel`` carries a warning saying so.
        """
        options = options or LoadOptions()
        if not options.uses_gpu:
            return self._load(path, options)
        try:
            return self._load(path, options)
        except (EngineBusyError, InvalidOptionError, ModelFileError):
            raise
        except QuillpadError as err:
            if isinstance(err, EngineCrashedError):
                self._discard_process()
            reason = str(err).rstrip(".")
        loaded = self._load(path, options.on_cpu())
        notice = (
            f"Loading on the GPU failed ({reason}); the model was loaded on the CPU instead, which is slower. "
            "Set GPU layers to 0 in the settings to skip the GPU next time."
        )
        self._loaded = replace(loaded, warnings=(notice, *loaded.warnings))
        return self._loaded

    def _load(self, path: str | Path, options: LoadOptions) -> LoadedModel:
        info = inspect_model(path, check_loadable=False)
        profile = profile_for(info.architecture, info.name, info.basename, user_dir=app_paths().config_dir / "profiles")
        load, threads, warnings = resolve_load_options(info, profile, options)
        if not self._lock.acquire(blocking=False):
            raise EngineBusyError("The engine is busy; stop the current reply before loading a model.")
        try:
            self.start()
            assert self._conn is not None
            self._state = EngineState.LOADING
            self._loaded = None
            self._conn.send({"op": "load", "load": load})
            try:
                reply = self._receive()
            except EngineCrashedError:
                raise EngineCrashedError(
                    f"llama.cpp crashed while loading {Path(path).name} "
                    f"({_describe_exit(self._process.exitcode)[0]}); the file may be damaged or too large "
                    "for this computer's memory."
                ) from None
            if reply[0] == "load_failed":
                self._state = EngineState.IDLE
                raise QuillpadError(
                    f"llama.cpp could not load {Path(path).name} ({reply[1]}); check that the file is complete "
                    "and that there is enough memory."
                )
            self._last_load = (str(path), options)
            self._loaded = LoadedModel(info, profile, options, int(reply[1]), threads, tuple(warnings))
            self._state = EngineState.READY
            return self._loaded
        finally:
            self._lock.release()

    def restart(self) -> LoadedModel | None:
        """Kill the worker if needed, start a new one and reload the last model."""
        self._discard_process()
        self._state = EngineState.STOPPED
        self._loaded = None
        self.start()
        if self._last_load is None:
            return None
        path, options = self._last_load
        return self.load(path, options)

    def unload(self) -> None:
        """Free the model (the worker keeps running)."""
        if self._conn is None or self.state in (EngineState.STOPPED, EngineState.CRASHED):
            self._loaded = None
            return
        with self._lock:
            self._conn.send({"op": "unload"})
            self._receive(30)
            self._loaded = None
            self._state = EngineState.IDLE

    # -- chat -------------------------------------------------------------

    def render(self, request: ChatRequest) -> RenderedPrompt:
        """The exact prompt ``chat(request)`` would evaluate, with its token count."""
        request.validate()
        if self._loaded is None or self.state != EngineState.READY:
            raise InvalidOptionError("No model is loaded; load a GGUF model first.")
        with self._lock:
            assert self._conn is not None
            self._conn.send({"op": "render", "request": request})
            reply = self._receive(60)
        if isinstance(reply, EngineError):
            raise QuillpadError(reply.message)
        assert isinstance(reply, RenderedPrompt)
        return reply

    def stop(self) -> None:
        """Ask the current reply to end; safe from any thread, a no-op when idle."""
        self._stop_flag.value = 1

    def chat(self, request: ChatRequest) -> Iterator[EngineEvent]:
        """Stream the events of one reply; the last is ``Done`` or ``EngineError``.

        A generator: nothing happens until the first ``next()``. Bad requests
        and a missing model raise ``QuillpadError`` there, before anything is
        sent. A worker crash mid-reply ends the stream with an
        ``EngineError`` (``crashed=True``) that carries the partial answer.
        """
        request.validate()
        if self._loaded is None or self.state != EngineState.READY:
            if self.state == EngineState.CRASHED:
                raise EngineCrashedError("The model engine has stopped; restart it to reload the model.")
            raise InvalidOptionError("No model is loaded; load a GGUF model first.")
        if not self._lock.acquire(blocking=False):
            raise EngineBusyError("A reply is already being written; stop it or wait for it to finish.")
        answer: list[str] = []
        thinking: list[str] = []
        try:
            assert self._conn is not None
            self._stop_flag.value = 0
            self._state = EngineState.BUSY
            self._conn.send({"op": "chat", "request": request})
            while True:
                try:
                    event = self._receive()
                except EngineCrashedError:
                    crash = self._crash_event("".join(answer), "".join(thinking))
                    if request.grammar:
                        # llama.cpp's GBNF parser can crash on a malformed grammar.
                        crash = replace(
                            crash,
                            message=crash.message.rstrip(".")
                            + "; the request's output grammar may be malformed (GBNF), so check it before retrying.",
                        )
                    yield crash
                    return
                if isinstance(event, AnswerText):
                    answer.append(event.text)
                elif isinstance(event, ThinkingText):
                    thinking.append(event.text)
                elif isinstance(event, Done | EngineError):
                    # Ready before the last event is handed out: a consumer
                    # that stops iterating at it must not look like one that
                    # walked away mid-reply.
                    self._state = EngineState.READY
                    yield event
                    return
                yield event
        finally:
            if self._state == EngineState.BUSY:
                # The consumer walked away mid-reply: stop the worker and drain
                # its events so the next request starts clean.
                self._drain_after_abandon()
            self._lock.release()

    def _drain_after_abandon(self) -> None:
        self._stop_flag.value = 1
        try:
            while True:
                event = self._receive(30)
                if isinstance(event, Done | EngineError):
                    break
            self._state = EngineState.READY
        except EngineCrashedError:
            self._state = EngineState.CRASHED
