"""The engine on a worker thread, reported to the GUI through queued signals.

The GUI thread never blocks on the engine: loads and replies run on one
``QThread``; reply events are batched there and emitted at most ~30 times a
second (the first text and the end go out at once), so a fast model cannot
flood the event loop. Signals carry plain data only.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.engine import ChatMessage, ChatRequest, Done, Engine, EngineError, EngineEvent, LoadOptions
from app.core.engine.backend import ChatBackend
from app.core.engine.client import EngineCrashedError, EngineState
from app.core.errors import QuillpadError
from app.core.remote import RemoteBackend, RemoteConfig

log = logging.getLogger(__name__)

BATCH_SECONDS = 1 / 30
TOKENIZER_SAMPLE = (
    "def total_price(items: list[Item]) -> float:\n"
    '    """Sum the prices, with VAT at 20%."""\n'
    "    return sum(item.price * 1.2 for item in items)\n\n"
    "The function adds up every item's price and applies the tax once. "
    "For a basket of 3 items costing 2.50, 4.00 and 10.25, it returns 20.10.\n"
)


class _EngineWorker(QObject):
    """Lives on the engine thread; every slot may block."""

    stateChanged = Signal(str)
    loaded = Signal(object)  # LoadedModel
    loadFailed = Signal(str, bool)  # message, engine crashed
    tokensPerChar = Signal(float)  # the loaded model's tokenizer on typical text
    replyEvents = Signal(int, list)  # request id, [EngineEvent]
    replyEnded = Signal(int, object)  # request id, Done | EngineError
    remoteConnected = Signal(object)  # RemoteModel

    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine
        # Who writes replies: the local engine, or a model server once connected.
        self.backend: ChatBackend = engine
        self.remote: RemoteBackend | None = None

    def _state(self) -> None:
        self.stateChanged.emit(self.engine.state.value)

    @Slot(str, object)
    def load(self, path: str, options: LoadOptions) -> None:
        self.use_local()
        self.stateChanged.emit("loading")
        try:
            loaded = self.engine.load(path, options)
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
        """Tokens per character on mixed code and prose, so context budgets
        counted with a cheap estimate still fit this model's context."""
        try:
            sample = self.engine.render(ChatRequest((ChatMessage("user", TOKENIZER_SAMPLE),))).tokens
            base = self.engine.render(ChatRequest((ChatMessage("user", "x"),))).tokens
        except QuillpadError:
            return
        self.tokensPerChar.emit(max(0.05, (sample - base) / max(1, len(TOKENIZER_SAMPLE) - 1)))

    @Slot()
    def restart(self) -> None:
        self.stateChanged.emit("loading")
        try:
            loaded = self.engine.restart()
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
        self._close_remote()
        self.stateChanged.emit("connecting")
        remote = RemoteBackend(config)
        try:
            connected = remote.connect()
        except QuillpadError as err:
            self.backend = self.engine
            self.loadFailed.emit(str(err), False)
        except Exception as err:
            log.exception("connecting to the model server failed")
            self.backend = self.engine
            message = f"Connecting to the model server failed unexpectedly ({err}); see the log file."
            self.loadFailed.emit(message, False)
        else:
            self.remote = remote
            self.backend = remote
            self.remoteConnected.emit(connected)
        self.stateChanged.emit(self.backend.state.value)

    @Slot()
    def use_local(self) -> None:
        """Go back to the local engine (the server connection is closed)."""
        self._close_remote()
        self.backend = self.engine

    def _close_remote(self) -> None:
        remote, self.remote = self.remote, None
        if remote is not None:
            self.backend = self.engine
            remote.close()

    @Slot(int, object)
    def chat(self, request_id: int, request: ChatRequest) -> None:
        self.stateChanged.emit("busy")
        batch: list[EngineEvent] = []
        last_emit = 0.0
        final: Done | EngineError | None = None
        try:
            for event in self.backend.chat(request):
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
        self.stateChanged.emit(self.backend.state.value)

    @Slot()
    def unload(self) -> None:
        try:
            self.engine.unload()
        except QuillpadError as err:
            self.loadFailed.emit(str(err), False)
        self._state()

    @Slot()
    def close(self) -> None:
        self._close_remote()
        self.engine.close()


class ActiveBackend:
    """Whichever backend the bridge uses right now, as one ``ChatBackend``
    (for plugins, whose model calls run off the GUI thread)."""

    def __init__(self, worker: _EngineWorker) -> None:
        self._worker = worker

    @property
    def current(self) -> ChatBackend:
        """The backend in use now: the local ``Engine`` or a ``RemoteBackend``."""
        return self._worker.backend

    @property
    def state(self) -> EngineState:
        return self._worker.backend.state

    def chat(self, request: ChatRequest) -> Iterator[EngineEvent]:
        return self._worker.backend.chat(request)

    def stop(self) -> None:
        self._worker.backend.stop()

    def close(self) -> None:
        self._worker.backend.close()

    def kill(self) -> None:
        self._worker.backend.kill()


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
        self.engine = engine_factory()
        self._ids = itertools.count(1)
        self._thread = QThread()
        self._thread.setObjectName("quillpad-engine-thread")
        self._worker = _EngineWorker(self.engine)
        self._worker.moveToThread(self._thread)
        self.active = ActiveBackend(self._worker)
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

    def send(self, request: ChatRequest) -> int:
        """Queue a reply; returns the id its events will carry."""
        request_id = next(self._ids)
        self._chat.emit(request_id, request)
        return request_id

    def stop(self) -> None:
        """Stop the current reply (takes effect within a fraction of a second)."""
        self._worker.backend.stop()

    def restart(self) -> None:
        self._restart.emit()

    def unload(self) -> None:
        self._unload.emit()

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Stop everything and wait for the engine thread; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._worker.backend.stop()
        self._close.emit()
        self._thread.quit()
        if not self._thread.wait(timeout_ms):
            # A load that will not finish: end the worker process, which
            # unblocks the thread, then wait again.
            self.engine.kill()
            self._thread.wait(timeout_ms)
        self.engine.close()
