"""The engine owner on a worker thread, reported to the GUI through queued signals.

The GUI thread never blocks on the engine: loads and the chat's replies run
on one ``QThread`` through the window's ``EngineOwner`` (the only way into the
local engine or a model server; plugins, the commit dialog and others use
the same owner from their own threads, and the owner queues them). Reply
events are batched there and emitted at most 10 times a second (the first
text and the end go out at once), so a fast model cannot flood the event
loop; a model slower than 10 tokens/s (most 7-8B models on a CPU) still shows
every token as it comes. Each update costs the GUI, the page's renderer and
the web engine's compositor CPU the model's threads need, and on a machine
whose cores all decode, llama.cpp loses about as much time as those
neighbours use (see app/core/engine/threads.py). Measured with `quillpad
bench ui` (starter model, 400-token replies): 30 -> 15 updates a second took
the app from 1.3-2.1 to 1.05-1.75 ms of CPU per token and the web view from
0.75-1.35 to 0.5-0.77; 15 -> 10 took those neighbours from ~11 % to ~7 % of
a core, and the window's decode rate went from 0.84-0.92 to 0.87-1.0 of
bare llama-cpp-python's. Every reply carries the owner's request
id; Stop names it. Signals carry plain data only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.chat.project_context import measure_tokens_per_char
from app.core.engine import ChatRequest, Done, Engine, EngineError, EngineEvent, LoadOptions
from app.core.engine.client import EngineCrashedError
from app.core.engine.owner import EngineOwner
from app.core.errors import QuillpadError
from app.core.remote import RemoteBackend, RemoteConfig

log = logging.getLogger(__name__)

BATCH_SECONDS = 1 / 10


class _EngineWorker(QObject):
    """Lives on the engine thread; every slot may block."""

    stateChanged = Signal(str)
    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str, bool)  # message, engine crashed
    tokensPerChar = Signal(float)  # the loaded model's tokenizer on typical text
    replyEvents = Signal(int, list)  # request id, [EngineEvent]
    replyEnded = Signal(int, object)  # request id, Done | EngineError
    remoteConnected = Signal(object)  # RemoteModel

    def __init__(self, owner: EngineOwner) -> None:
        super().__init__()
        self.owner = owner
        self.engine = owner.engine

    @property
    def remote(self) -> RemoteBackend | None:
        """The model-server connection, while replies come from one."""
        return self.owner.remote

    def _state(self) -> None:
        self.stateChanged.emit(self.owner.state.value)

    @Slot(str, object)
    def load(self, path: str, options: LoadOptions) -> None:
        self.use_local()
        self.stateChanged.emit("loading")
        try:
            loaded = self.owner.load(path, options)
        except EngineCrashedError as err:
            self.loadFailed.emit(str(err), True)
        except QuillpadError as err:
            self.loadFailed.emit(str(err), False)
        except Exception as err:  # shown as a sentence, logged in full
            log.exception("model load failed")
            self.loadFailed.emit(f"Loading the model failed unexpectedly ({err}); see the log file.", False)
        else:
            self.loaded.emit(loaded)
            self._measure_tokenizer()
        self._state()

    def _measure_tokenizer(self) -> None:
        ratio = measure_tokens_per_char(self.owner.render)
        if ratio is not None:
            self.tokensPerChar.emit(ratio)

    @Slot()
    def restart(self) -> None:
        self.stateChanged.emit("loading")
        try:
            loaded = self.owner.restart()
        except QuillpadError as err:
            self.loadFailed.emit(str(err), isinstance(err, EngineCrashedError))
        else:
            if loaded is not None:
                self.loaded.emit(loaded)
                self._measure_tokenizer()
        self._state()

    @Slot(object)
    def connect_remote(self, config: RemoteConfig) -> None:
        """Replace any server connection with one to ``config`` and make it the backend."""
        self.stateChanged.emit("connecting")
        try:
            connected = self.owner.connect_remote(config)
        except QuillpadError as err:
            self.loadFailed.emit(str(err), False)
        except Exception as err:
            log.exception("connecting to the model server failed")
            message = f"Connecting to the model server failed unexpectedly ({err}); see the log file."
            self.loadFailed.emit(message, False)
        else:
            self.remoteConnected.emit(connected)
        self._state()

    @Slot()
    def use_local(self) -> None:
        """Go back to the local engine (the server connection is closed)."""
        self.owner.use_local()

    @Slot(int, object)
    def chat(self, request_id: int, request: ChatRequest) -> None:
        self.stateChanged.emit("busy")
        batch: list[EngineEvent] = []
        last_emit = 0.0
        final: Done | EngineError | None = None
        try:
            for event in self.owner.chat(request, "chat", request_id):
                if isinstance(event, Done | EngineError):
                    final = event
                    break
                batch.append(event)
                now = time.monotonic()
                if last_emit == 0.0 or now - last_emit >= BATCH_SECONDS:
                    self.replyEvents.emit(request_id, batch)
                    batch = []
                    last_emit = now
        except QuillpadError as err:
            final = EngineError(str(err), crashed=isinstance(err, EngineCrashedError))
        except Exception as err:
            log.exception("chat failed")
            final = EngineError(f"The reply failed unexpectedly ({err}); see the log file.")
        if batch:
            self.replyEvents.emit(request_id, batch)
        self.replyEnded.emit(request_id, final or EngineError("The reply ended without a result; try again."))
        self._state()

    @Slot()
    def unload(self) -> None:
        try:
            self.owner.unload()
        except QuillpadError as err:
            self.loadFailed.emit(str(err), False)
        self._state()

    @Slot()
    def close(self) -> None:
        self.owner.close()


class EngineBridge(QObject):
    """What the GUI holds: asynchronous load/chat/stop/restart with signals."""

    stateChanged = Signal(str)
    modelLoaded = Signal(object)
    loadFailed = Signal(str, bool)
    tokensPerChar = Signal(float)
    replyEvents = Signal(int, list)
    replyEnded = Signal(int, object)
    remoteConnected = Signal(object)  # RemoteModel

    _load = Signal(str, object)
    _connect_remote = Signal(object)
    _use_local = Signal()
    _chat = Signal(int, object)
    _restart = Signal()
    _unload = Signal()
    _close = Signal()

    def __init__(self, engine_factory: Callable[[], Engine] = Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.owner = EngineOwner(engine_factory())
        self.engine = self.owner.engine
        self._thread = QThread()
        self._thread.setObjectName("quillpad-engine-thread")
        self._worker = _EngineWorker(self.owner)
        self._worker.moveToThread(self._thread)
        self._load.connect(self._worker.load)
        self._chat.connect(self._worker.chat)
        self._restart.connect(self._worker.restart)
        self._unload.connect(self._worker.unload)
        self._close.connect(self._worker.close)
        self._connect_remote.connect(self._worker.connect_remote)
        self._use_local.connect(self._worker.use_local)
        self._worker.remoteConnected.connect(self.remoteConnected)
        self._worker.stateChanged.connect(self.stateChanged)
        self._worker.loaded.connect(self.modelLoaded)
        self._worker.loadFailed.connect(self.loadFailed)
        self._worker.tokensPerChar.connect(self.tokensPerChar)
        self._worker.replyEvents.connect(self.replyEvents)
        self._worker.replyEnded.connect(self.replyEnded)
        self._thread.start()
        self._closed = False

    def load(self, path: str, options: LoadOptions) -> None:
        self._load.emit(path, options)

    def connect_remote(self, config: RemoteConfig) -> None:
        """Connect to a model server; replies then come from it (``remoteConnected`` or ``loadFailed``)."""
        self._connect_remote.emit(config)

    def use_local(self) -> None:
        """Disconnect from the model server; replies come from the local engine again."""
        self._use_local.emit()

    def send(self, request: ChatRequest, request_id: int | None = None) -> int:
        """Queue a reply (under ``request_id`` when the caller reserved one); returns the id its events
        carry and ``stop`` takes."""
        if request_id is None:
            request_id = self.owner.reserve_id()
        self._chat.emit(request_id, request)
        return request_id

    def stop(self, request_id: int) -> None:
        """Stop reply ``request_id`` only (takes effect within a fraction of a second); others go on."""
        self.owner.stop(request_id)

    def restart(self) -> None:
        self._restart.emit()

    def unload(self) -> None:
        self._unload.emit()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop everything and wait for the engine thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self.owner.stop_all()
        self._close.emit()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            # A load that will not finish: end the worker process, which
            # unblocks the thread, then wait again.
            self.owner.kill()
            self._thread.wait(timeout_ms)
        self.owner.close()
