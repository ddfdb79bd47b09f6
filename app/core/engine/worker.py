"""The engine's child process: owns the one ``llama_cpp.Llama`` and streams events.

Runs under the spawn start method, supervised by ``app.core.supervised``.
Commands arrive as the dataclasses of ``messages.py``; events go back as
those of ``events.py``. Stop is a shared integer the
parent sets: checked between tokens, and during prompt processing through
llama.cpp's abort callback (so a long prompt on the CPU stops within one
graph node, not after it). All native output goes to a log file that the
parent reads if this process dies.
"""

from __future__ import annotations

import codecs
import ctypes
import faulthandler
import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from app.core.engine.budget import ContextOverflowError, FittedPrompt, fit_to_context
from app.core.engine.events import (
    AnswerText,
    Done,
    DoneReason,
    EngineError,
    EngineEvent,
    Notice,
    RenderedPrompt,
    Stats,
    ThinkingText,
)
from app.core.engine.llama_open import open_llama
from app.core.engine.messages import (
    LoadFailed,
    LoadModel,
    ModelLoaded,
    ModelUnloaded,
    Quit,
    RenderPrompt,
    StartChat,
    UnloadModel,
    WorkerLoad,
    WorkerReady,
)
from app.core.engine.options import ChatRequest
from app.core.engine.prompt import PromptBuilder
from app.core.engine.state_cache import CacheConfig, StateCache, model_sha256
from app.core.engine.state_files import StateIdentity
from app.core.engine.streaming import Channel, StopStrings, ThinkSplitter
from app.core.engine.threads import ThreadPolicy
from app.core.engine.vocab import Vocab
from app.core.priority import lower_this_thread_priority

# Text goes to the parent in batches at most 5 times a second (the first at
# once). Each batch becomes one frame of the chat view, and on 2 cores whose
# both threads decode, every frame's CPU is taken from llama.cpp's lockstep
# threads (see threads.py): Qt WebEngine's software compositing and renderer
# cost ~9 ms of CPU a frame whatever the text (a bare QWebEngineView: ~70 % of
# it). `quillpad bench ui`, starter model, 20 x 400 tokens, same host and
# evening: at 10 batches a second the window decoded at 0.90 of bare
# llama-cpp-python (median; lowest 0.81, 17 of 20 replies >= 0.85, app +
# renderer 1.7-2.5 ms CPU a token); at 5, 0.95 (lowest 0.86, 20 of 20,
# 0.8-1.3 ms). A remote server's replies, which leave the CPU free, are
# batched by the window alone (engine_bridge.BATCH_SECONDS, 10 a second).
FLUSH_SECONDS = 1 / 5
LOG_TAIL_LINES = 40
HASH_WAIT_SECONDS = 2.0

Send = Callable[[Any], None]


class _Log:
    """llama.cpp's log lines, to the log file and a short in-memory tail."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tail: deque[str] = deque(maxlen=LOG_TAIL_LINES)

    def write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()
        self.tail.extend(line for line in text.splitlines() if line.strip())

    def line(self, text: str) -> None:
        """One line of Quillpad's own (safe from any thread of the worker)."""
        self.write(f"quillpad: {text}\n")


def eog_token_ids(llm: Any) -> list[int]:
    """Every end-of-generation token of a loaded ``llama_cpp.Llama``."""
    return Vocab(llm).eog_ids()


def banned_tokens_processor(token_ids: list[int]) -> Any:
    """A logits processor that never lets ``token_ids`` be sampled (fixed-length output)."""
    import numpy as np
    from llama_cpp import LogitsProcessorList

    banned = np.array(token_ids, dtype=np.intp)

    def ban(_ids: Any, scores: Any) -> Any:
        scores[banned] = -np.inf
        return scores

    return LogitsProcessorList([ban])


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class ModelSession:
    """A loaded model and the conversation state in its KV cache."""

    def __init__(self, load: WorkerLoad, stop_flag: Any, log: _Log) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.load = load
        self.stop_flag = stop_flag
        self.log = log
        self.llm = open_llama(
            load.path,
            n_ctx=load.context_length,
            n_threads=load.threads,
            n_threads_batch=load.threads_batch or load.threads,
            n_gpu_layers=load.gpu_layers,
            tensor_split=list(load.tensor_split) if load.tensor_split is not None else None,
            flash_attn=load.flash_attention,
            n_batch=load.batch_size,
            verbose=False,
        )
        vocab = Vocab(self.llm)
        self.vocab = vocab.handle
        self.n_ctx = self.llm.n_ctx()
        self.add_bos = vocab.add_bos
        self.builder = PromptBuilder(
            load.chat_template,
            load.profile,
            bos_token=vocab.text(vocab.bos),
            eos_token=vocab.text(vocab.eos),
        )
        self._eog_ids: list[int] | None = None
        self.eog_set: frozenset[int] = frozenset()
        self._pieces: dict[int, bytes] = {}
        # Kept on self: ctypes callbacks must outlive their registration.
        self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: bool(self.stop_flag.value))
        self._no_abort_cb = llama_cpp.ggml_abort_callback()
        batch_threads = load.threads_batch or load.threads
        self.threads = ThreadPolicy(
            cores=load.threads,
            fixed=None if load.auto_threads else load.threads,
            apply=lambda n: llama_cpp.llama_set_n_threads(self.llm.ctx, n, batch_threads),
        )
        # Recurrent and hybrid models cannot cut a saved state short: only a
        # state whose tokens all prefix the prompt is restored.
        self.whole_states_only = bool(
            llama_cpp.llama_model_is_recurrent(self.llm.model) or llama_cpp.llama_model_is_hybrid(self.llm.model)
        )
        self._identity: StateIdentity | None = None
        folder = Path(load.state_folder) if load.state_folder else None
        self.states = StateCache(
            CacheConfig(folder, load.state_ram_bytes, load.state_disk_bytes), lambda: self._identity, log.line
        )
        self._hashing: threading.Thread | None = None
        self._hash_waited = False
        if folder is not None:
            self._hashing = threading.Thread(target=self._hash_model, args=(folder,), name="model-hash", daemon=True)
            self._hashing.start()

    def _hash_model(self, folder: Path) -> None:
        """The saved states' identity; the model file's sha256 is read once, off the reply's path."""
        lower_this_thread_priority()  # hashing a 5 GB file must not slow the first reply
        try:
            folder.mkdir(parents=True, exist_ok=True)
            digest = model_sha256(Path(self.load.path), folder)
        except OSError as err:
            self.states.disable_disk(err)
            return
        self._identity = StateIdentity(
            model_sha256=digest,
            llama_build=self._llama_cpp.__version__,
            context_length=self.n_ctx,
            kv_settings=f"flash_attention={self.load.flash_attention}",
        )

    def _await_hash(self) -> None:
        """Give the model's hash (which names its saved states) a moment to arrive, once."""
        if self._hashing is not None and not self._hash_waited:
            # A remembered hash takes milliseconds; a model file never seen
            # before is hashed in the background and only its first reply
            # waits, briefly (its states stay in RAM until the hash is known).
            self._hashing.join(HASH_WAIT_SECONDS)
            self._hash_waited = True

    def restore_state(self, tokens: list[int]) -> None:
        """Restore the saved state that covers most of ``tokens``, if it beats the live KV cache."""
        import numpy as np
        from llama_cpp import LlamaState

        self._await_hash()
        live = _common_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens)
        found = self.states.best(tokens, live, self.whole_states_only)
        if found is None:
            return
        saved, payload = found
        input_ids = np.zeros(self.n_ctx, dtype=np.intc)
        input_ids[: len(saved)] = saved
        state = LlamaState(
            input_ids=input_ids,
            scores=np.zeros((1, self.llm.n_vocab()), dtype=np.single),  # the next decode refreshes them
            n_tokens=len(saved),
            llama_state=payload,
            llama_state_size=len(payload),
            seed=0,
        )
        try:
            self.llm.load_state(state)
        except (RuntimeError, ValueError) as err:
            self.log.line(f"a saved state could not be restored, the prompt is computed again: {err}")
            self.llm.reset()

    def save_state(self) -> None:
        """Hand the KV cache's state after a reply to the state cache (RAM now, disk in the background)."""
        llama_cpp = self._llama_cpp
        if self.llm.n_tokens == 0 or (self.states.config.ram_bytes <= 0 and self.states.config.disk_bytes <= 0):
            return
        ctx = self.llm.ctx
        size = llama_cpp.llama_state_get_size(ctx)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_get_data(ctx, buffer, size)
        if written <= 0 or written > size:
            self.log.line("the engine state could not be saved (llama.cpp returned no data)")
            return
        self.states.remember(self.llm.input_ids[: self.llm.n_tokens].copy(), bytes(buffer)[:written])

    def close(self) -> None:
        self.states.close()
        self.llm.close()

    def abort_on_stop(self, enabled: bool) -> None:
        """Let the stop flag abort llama.cpp mid-computation (on) or not (off)."""
        # Only during prompt processing: a Python callback per graph node
        # would tax every decoded token, and between tokens the loop checks.
        callback = self._abort_cb if enabled else self._no_abort_cb
        self._llama_cpp.llama_set_abort_callback(self.llm.ctx, callback, None)

    def eog_ids(self) -> list[int]:
        """Every end-of-generation token (computed once, on first need)."""
        if self._eog_ids is None:
            self._eog_ids = eog_token_ids(self.llm)
            self.eog_set = frozenset(self._eog_ids)
        return self._eog_ids

    def piece(self, token: int) -> bytes:
        """A token's bytes; cached, as this runs once per generated token."""
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self.llm.detokenize([token])
        return piece

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=self.add_bos, special=True))

    def reusable_prefix(self, tokens: list[int]) -> int:
        """How many prompt tokens the KV cache already holds.

        Mirrors ``Llama.generate``'s prefix matching (pinned version): when
        the whole prompt is cached, one token is evaluated again to get fresh
        logits.
        """
        cached = self.llm.input_ids[: self.llm.n_tokens].tolist()
        prefix = _common_prefix(cached, tokens)
        if prefix == len(tokens):
            prefix = max(0, len(tokens) - 1)
        return prefix

    def fit(self, request: ChatRequest) -> tuple[FittedPrompt, bool]:
        """The prompt for ``request`` within the context, and whether it thinks."""
        profile = self.load.profile
        thinking = profile.thinking_default if request.thinking is None else request.thinking
        fitted = fit_to_context(
            request.messages,
            lambda msgs: self.builder.build(msgs, thinking, request.tools),
            self.tokenize,
            self.n_ctx,
            request.max_tokens,
            self.reusable_tokens,
        )
        return fitted, thinking

    def reusable_tokens(self, tokens: list[int]) -> int:
        """How many leading tokens of ``tokens`` the KV cache or a saved state already holds."""
        self._await_hash()  # the saved states are named by it
        live = _common_prefix(self.llm.input_ids[: self.llm.n_tokens].tolist(), tokens)
        return max(live, self.states.shared_prefix(tokens, self.whole_states_only))

    def render(self, request: ChatRequest) -> RenderedPrompt:
        """What ``chat`` would send to the model, without generating."""
        fitted, thinking = self.fit(request)
        return RenderedPrompt(
            fitted.prompt.text, len(fitted.tokens), fitted.dropped_turns, thinking, fitted.prompt.notices
        )

    def chat(self, request: ChatRequest, send: Send) -> None:
        """Produce one reply, sending events as it goes."""
        started = time.monotonic()
        try:
            fitted, thinking = self.fit(request)
        except ContextOverflowError as err:
            send(EngineError(str(err)))
            return
        for notice in (*fitted.prompt.notices, *self.states.take_notices()):
            send(Notice(notice))
        if fitted.dropped_turns:
            send(
                Notice(
                    f"The {fitted.dropped_turns} oldest turn(s) of this chat were left out so the "
                    "conversation fits the model's context."
                )
            )
        self.restore_state(fitted.tokens)
        _Reply(self, request, fitted.prompt, fitted.tokens, fitted.dropped_turns, thinking, started).run(send)
        self.save_state()


class _Reply:
    """One streamed reply: sampling loop, splitting, batching, stats."""

    def __init__(
        self,
        session: ModelSession,
        request: ChatRequest,
        prompt: Any,
        tokens: list[int],
        dropped_turns: int,
        thinking: bool,
        started: float,
    ) -> None:
        self.s = session
        self.request = request
        self.tokens = tokens
        self.dropped_turns = dropped_turns
        self.started = started
        profile = session.load.profile
        self.sampling = profile.sampling(thinking, request.sampling)
        self.splitter = ThinkSplitter(profile.think_open, profile.think_close, prompt.starts_in_thinking)
        self.stops = StopStrings(prompt.stops)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.answer: list[str] = []
        self.thinking: list[str] = []
        self._pending: list[EngineEvent] = []
        self._last_flush = time.monotonic()
        self._sent_any = False

    def _emit_text(self, text: str, send: Send, force: bool = False) -> None:
        text = self.stops.feed(text)
        for channel, part in self.splitter.feed(text) if text else []:
            self._collect(channel, part)
        now = time.monotonic()
        # The first text goes out at once (time to first token is what users
        # feel); after that, batches (FLUSH_SECONDS) keep the pipe and the UI calm.
        if self._pending and (force or not self._sent_any or now - self._last_flush >= FLUSH_SECONDS):
            for pending in self._pending:
                send(pending)
            self._pending.clear()
            self._last_flush = now
            self._sent_any = True

    def _collect(self, channel: Channel, part: str) -> None:
        """Keep ``part`` for the final text and queue it, merging with the
        previous pending event of the same channel (fewer, larger messages)."""
        if channel == "thinking":
            self.thinking.append(part)
            last = self._pending[-1] if self._pending else None
            if isinstance(last, ThinkingText):
                self._pending[-1] = ThinkingText(last.text + part)
            else:
                self._pending.append(ThinkingText(part))
        else:
            self.answer.append(part)
            last = self._pending[-1] if self._pending else None
            if isinstance(last, AnswerText):
                self._pending[-1] = AnswerText(last.text + part)
            else:
                self._pending.append(AnswerText(part))

    def _finish_text(self, send: Send) -> None:
        tail = self.decoder.decode(b"", final=True)
        tail = self.stops.feed(tail) + self.stops.finish()
        parts = self.splitter.feed(tail) if tail else []
        for channel, part in parts + self.splitter.finish():
            self._collect(channel, part)
        self._emit_text("", send, force=True)

    def run(self, send: Send) -> None:
        s = self.s
        llm = s.llm
        s.eog_ids()  # outside the timed loop
        n_prompt = len(self.tokens)
        reused = s.reusable_prefix(self.tokens)
        room = s.n_ctx - n_prompt
        max_tokens = min(self.request.max_tokens or room, room)
        seed = self.request.seed
        if seed is None or seed < 0:
            seed = random.randrange(2**31)
        llm.set_seed(seed)
        p = self.sampling
        reason: DoneReason = "length"
        completion = thinking_tokens = 0
        gaps: list[float] = []  # seconds between consecutive generated tokens
        first_token_at: float | None = None
        last_token_at = time.monotonic()
        prompt_started = time.monotonic()
        logits_processor = None
        if self.request.ignore_eos:
            logits_processor = banned_tokens_processor(s.eog_ids())
        grammar = None
        if self.request.grammar:
            from llama_cpp import LlamaGrammar

            try:
                grammar = LlamaGrammar.from_string(self.request.grammar, verbose=False)
            except ValueError as err:
                send(EngineError(f"The output grammar is not valid GBNF ({err}); fix the grammar or leave it out."))
                return
        s.abort_on_stop(True)
        s.threads.start_reply()
        generator = llm.generate(
            self.tokens,
            top_k=p.top_k,
            top_p=p.top_p,
            min_p=p.min_p,
            temp=p.temperature,
            repeat_penalty=p.repeat_penalty,
            presence_penalty=p.presence_penalty,
            logits_processor=logits_processor,
            grammar=grammar,
        )
        try:
            for token in generator:
                if first_token_at is None:
                    first_token_at = time.monotonic()
                    s.abort_on_stop(False)
                if s.stop_flag.value:
                    reason = "cancelled"
                    break
                if token in s.eog_set:
                    reason = "stop"
                    break
                completion += 1
                s.threads.token()
                now = time.monotonic()
                if completion > 1:
                    gaps.append(now - last_token_at)
                last_token_at = now
                if self.splitter.in_thinking:
                    thinking_tokens += 1
                self._emit_text(self.decoder.decode(s.piece(token)), send)
                if self.stops.stopped:
                    reason = "stop"
                    break
                if completion >= max_tokens:
                    reason = "length"
                    break
        except RuntimeError as err:
            if not s.stop_flag.value:
                send(EngineError(f"llama.cpp failed while answering ({err}); try again or restart the engine."))
                return
            reason = "cancelled"
        finally:
            generator.close()
            s.abort_on_stop(False)
        self._finish_text(send)
        evaluated = (n_prompt if first_token_at is not None else llm.n_tokens) - reused
        prompt_done = first_token_at if first_token_at is not None else time.monotonic()
        send(
            Stats(
                prompt_tokens=n_prompt,
                prompt_tokens_evaluated=max(0, evaluated),
                prompt_tokens_reused=reused,
                completion_tokens=completion,
                thinking_tokens=thinking_tokens,
                time_to_first_token=(first_token_at or prompt_done) - self.started,
                prompt_seconds=prompt_done - prompt_started,
                decode_seconds=max(0.0, last_token_at - prompt_done) if first_token_at else 0.0,
                dropped_turns=self.dropped_turns,
                threads=s.threads.current,
                thread_tokens=tuple(sorted(s.threads.tokens_at.items(), key=lambda item: -item[1])),
                token_gaps=tuple(gaps),
            )
        )
        send(Done(reason, "".join(self.answer), "".join(self.thinking)))


def _open_log(log_path: str) -> TextIO:
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        os.replace(path, path.with_name(path.name + ".1"))
    stream = open(path, "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    # Native aborts (GGML_ASSERT) write to fd 2; a segfault's Python stack
    # comes from faulthandler. Both land in the file the parent reads.
    os.dup2(stream.fileno(), 2)
    sys.stderr = stream
    faulthandler.enable(stream)
    return stream


def worker_main(conn: Connection, stop_flag: Any, log_path: str) -> None:
    """Entry point of the worker process."""
    stream = _open_log(log_path)
    log = _Log(stream)
    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]  # llama_cpp has no type information
    def _on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        log.write(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
    session: ModelSession | None = None
    conn.send(WorkerReady(os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break  # the parent is gone: so are we
        try:
            if isinstance(message, LoadModel):
                if session is not None:
                    session.close()
                    session = None
                try:
                    session = ModelSession(message.load, stop_flag, log)
                except Exception as err:
                    reason = next((line for line in reversed(log.tail) if "error" in line.lower()), str(err))
                    conn.send(LoadFailed(reason.strip(), tuple(log.tail)))
                else:
                    conn.send(ModelLoaded(session.n_ctx))
            elif isinstance(message, StartChat):
                if session is None:
                    conn.send(EngineError("No model is loaded; load a GGUF model first."))
                else:
                    session.chat(message.request, conn.send)
            elif isinstance(message, RenderPrompt):
                if session is None:
                    conn.send(EngineError("No model is loaded; load a GGUF model first."))
                else:
                    try:
                        conn.send(session.render(message.request))
                    except ContextOverflowError as err:
                        conn.send(EngineError(str(err)))
            elif isinstance(message, UnloadModel):
                if session is not None:
                    session.close()
                    session = None
                conn.send(ModelUnloaded())
            elif isinstance(message, Quit):
                break
        except (BrokenPipeError, EOFError):
            break
    if session is not None:
        session.close()
    stream.close()
