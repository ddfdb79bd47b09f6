"""The parent-side handle on the engine worker process.

``Engine`` starts the worker (spawn), loads models, streams replies as an
iterator of events, and survives the worker's death: a crash becomes an
``EngineError`` with the exit code or signal and the worker's last log lines,
and ``restart()`` brings the same model back. Nothing here blocks without a
way out: every wait also watches the worker's process sentinel.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent, RenderedPrompt, ThinkingText
from app.core.engine.messages import (
    LoadFailed,
    LoadModel,
    ModelLoaded,
    Quit,
    RenderPrompt,
    StartChat,
    UnloadModel,
    WorkerCommand,
    WorkerLoad,
    WorkerReady,
)
from app.core.engine.options import ChatRequest, InvalidOptionError, LoadOptions, physical_cores
from app.core.engine.profiles import FamilyProfile, profile_for
from app.core.engine.worker import LOG_TAIL_LINES, worker_main
from app.core.errors import ModelFileError, QuillpadError
from app.core.gguf_info import ModelInfo, inspect_model
from app.core.paths import app_paths
from app.core.supervised import ChildDied, ChildError, ChildTimeout, SupervisedChild

START_TIMEOUT = 60.0


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
    state_folder = app_paths().cache_dir / "prompt-states"
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
        threads_batch=options.threads_batch or physical_cores(),
        auto_threads=options.threads is None,
        state_folder=str(state_folder) if options.state_disk_mb > 0 else None,
        state_ram_bytes=options.state_ram_mb * 1024 * 1024,
        state_disk_bytes=options.state_disk_mb * 1024 * 1024,
    )
    return load, threads, warnings


class Engine:
    """Runs one model in a worker process.

    ``stop()`` and ``kill()`` are safe from any thread. The other calls are
    for one thread at a time: the app reaches the engine only through
    ``EngineOwner`` (``owner.py``), which serialises them and ties Stop to a
    request. The state is guarded by a lock, so reading it from another
    thread (a status line) sees a consistent value.
    """

    def __init__(self, log_path: Path | None = None) -> None:
        self._stop_flag: Any = multiprocessing.get_context("spawn").RawValue(ctypes.c_int, 0)
        self.log_path = log_path or app_paths().log_dir / "engine-worker.log"
        self._child = SupervisedChild(
            worker_main, (self._stop_flag, str(self.log_path)), name="quillpad-engine", log_path=self.log_path
        )
        self._lock = threading.Lock()  # held while a command runs in the worker
        self._state_lock = threading.Lock()
        self._state = EngineState.STOPPED
        self._loaded: LoadedModel | None = None
        self._last_load: tuple[str, LoadOptions] | None = None
        self.worker_pid: int | None = None

    # -- lifecycle -------------------------------------------------------

    @property
    def state(self) -> EngineState:
        with self._state_lock:
            if self._child.started and not self._child.alive and self._state != EngineState.STOPPED:
                self._state = EngineState.CRASHED
            return self._state

    def _is(self, state: EngineState) -> bool:
        return self.state == state

    def _set_state(self, state: EngineState) -> None:
        with self._state_lock:
            self._state = state

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def start(self) -> None:
        """Start the worker process if it is not running."""
        if self._child.alive:
            return
        self.worker_pid = None
        try:
            self._child.start()
            message = self._child.receive(START_TIMEOUT)
        except ChildError:
            message = None
        if not isinstance(message, WorkerReady):
            self._set_state(EngineState.CRASHED)
            raise EngineCrashedError("The model engine did not start; see the log file for details.")
        self.worker_pid = message.pid
        self._set_state(EngineState.IDLE)

    def close(self, grace: float = 5.0) -> None:
        """Stop the worker and wait for it to end (``grace`` seconds, then it is killed).

        The worker finishes writing saved states first; a write cut short by
        the kill leaves only a ``.part`` file, removed the next time.
        """
        if self._child.alive:
            self._stop_flag.value = 1
        self._child.close(Quit(), grace=grace)
        self.worker_pid = None
        self._set_state(EngineState.STOPPED)
        self._loaded = None

    def kill(self) -> None:
        """End the worker at once, from any thread (app shutdown, a stuck load).

        A call blocked waiting on the worker notices through the process
        sentinel and returns; the engine is then ``CRASHED`` until restarted.
        """
        self._child.kill()

    def _discard_process(self) -> None:
        self._child.discard()
        self.worker_pid = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- talking to the worker ------------------------------------------

    def _send(self, command: WorkerCommand) -> None:
        try:
            self._child.send(command)
        except ChildDied as err:
            self._set_state(EngineState.CRASHED)
            raise EngineCrashedError(self.crash_message()) from err

    def _receive(self, timeout: float | None = None) -> Any:
        """Next message from the worker; raises ``EngineCrashedError`` if it died."""
        try:
            return self._child.receive(timeout)
        except ChildTimeout:
            raise EngineCrashedError("The model engine stopped responding; restart it.") from None
        except ChildDied:
            self._set_state(EngineState.CRASHED)
            raise EngineCrashedError(self.crash_message()) from None

    def crash_message(self) -> str:
        how = self._child.exit_info().describe()
        return f"The model engine stopped unexpectedly ({how}); restart the engine to reload the model."

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> list[str]:
        """The worker's last log lines (what llama.cpp said before dying)."""
        return self._child.log_tail(lines)

    def _crash_event(self, answer: str = "", thinking: str = "") -> EngineError:
        exit = self._child.exit_info()
        return EngineError(
            self.crash_message(),
            crashed=True,
            exit_code=exit.exit_code,
            signal=exit.signal,
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
            self._set_state(EngineState.LOADING)
            self._loaded = None
            try:
                self._send(LoadModel(load))
                reply = self._receive()
            except EngineCrashedError:
                raise EngineCrashedError(
                    f"llama.cpp crashed while loading {Path(path).name} "
                    f"({self._child.exit_info().describe()}); the file may be damaged or too large "
                    "for this computer's memory."
                ) from None
            if isinstance(reply, LoadFailed):
                self._set_state(EngineState.IDLE)
                raise QuillpadError(
                    f"llama.cpp could not load {Path(path).name} ({reply.reason}); check that the file is complete "
                    "and that there is enough memory."
                )
            assert isinstance(reply, ModelLoaded), reply
            self._last_load = (str(path), options)
            self._loaded = LoadedModel(info, profile, options, reply.context_length, threads, tuple(warnings))
            self._set_state(EngineState.READY)
            return self._loaded
        finally:
            self._lock.release()

    def restart(self) -> LoadedModel | None:
        """Kill the worker if needed, start a new one and reload the last model."""
        self._discard_process()
        self._set_state(EngineState.STOPPED)
        self._loaded = None
        self.start()
        if self._last_load is None:
            return None
        path, options = self._last_load
        return self.load(path, options)

    def unload(self) -> None:
        """Free the model (the worker keeps running)."""
        if not self._child.started or self.state in (EngineState.STOPPED, EngineState.CRASHED):
            self._loaded = None
            return
        with self._lock:
            self._send(UnloadModel())
            self._receive(30)
            self._loaded = None
            self._set_state(EngineState.IDLE)

    # -- chat -------------------------------------------------------------

    def render(self, request: ChatRequest) -> RenderedPrompt:
        """The exact prompt ``chat(request)`` would evaluate, with its token count."""
        request.validate()
        if self._loaded is None or self.state != EngineState.READY:
            raise InvalidOptionError("No model is loaded; load a GGUF model first.")
        with self._lock:
            self._send(RenderPrompt(request))
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
        sent = False
        try:
            self._stop_flag.value = 0
            self._set_state(EngineState.BUSY)
            while True:
                try:
                    if not sent:
                        sent = True
                        self._send(StartChat(request))
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
                    self._set_state(EngineState.READY)
                    yield event
                    return
                yield event
        finally:
            if self._is(EngineState.BUSY):
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
            self._set_state(EngineState.READY)
        except EngineCrashedError:
            self._set_state(EngineState.CRASHED)
