"""The completion model's own child process: one ``llama_cpp.Llama`` filling in the middle.

Separate from the chat engine's worker, so chatting and completing never wait
for each other and a crash here leaves the chat running. Supervised by
``app.core.supervised`` (through ``engine.CompletionEngine``).

A request is dropped as soon as a newer one exists: the parent raises the
shared ``newest`` id, and this process checks it between tokens and, while
the prompt is evaluated, through llama.cpp's abort callback. The KV cache is
kept between requests, so a keystroke that extends the prefix evaluates only
the new tokens (``Llama.generate`` reuses the longest cached prefix).
"""

from __future__ import annotations

import codecs
import ctypes
import faulthandler
import os
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TextIO

from app.core.completion.formats import FimFormat, NotFimCapableError, choose_format, load_fim_formats
from app.core.completion.messages import (
    Complete,
    CompletionFinished,
    CompletionLoad,
    CompletionModelReady,
    CompletionRefused,
    CompletionStats,
    QuitWorker,
    RenderedFim,
    RenderFim,
    SuggestionText,
    WorkerUp,
)
from app.core.completion.postprocess import tidy_suggestion
from app.core.completion.prompt import FimPrompt, fit_prompt
from app.core.engine.vocab import Vocab

FLUSH_SECONDS = 0.016
Send = Callable[[Any], None]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class FimSession:
    """A loaded completion model, its FIM format and the KV cache kept across requests."""

    def __init__(self, load: CompletionLoad, newest: Any) -> None:
        import llama_cpp

        from app.core.engine.llama_open import open_llama
        from app.core.engine.worker import eog_token_ids

        if not Path(load.path).is_file():
            raise NotFimCapableError(f"The completion model {load.path} is not there any more; choose it again.")
        self._llama_cpp = llama_cpp
        self.newest = newest
        self.llm = open_llama(
            load.path,
            n_ctx=load.context_length,
            n_threads=load.threads,
            n_threads_batch=load.threads,
            n_batch=load.batch_size,
            verbose=False,
        )
        vocab = Vocab(self.llm)
        metadata = self.llm.metadata
        pre, suf, mid = (
            llama_cpp.llama_vocab_fim_pre(vocab.handle),
            llama_cpp.llama_vocab_fim_suf(vocab.handle),
            llama_cpp.llama_vocab_fim_mid(vocab.handle),
        )
        markers = (vocab.text(pre), vocab.text(suf), vocab.text(mid)) if min(pre, suf, mid) >= 0 else None
        name = metadata.get("general.name") or metadata.get("general.basename") or Path(load.path).stem
        self.format: FimFormat = choose_format(
            load_fim_formats(),
            markers,
            self._is_single_special,
            metadata.get("general.architecture", ""),
            name,
        )
        fmt = self.format
        self._guarded = tuple(m for m in (fmt.prefix, fmt.suffix, fmt.middle, fmt.repo_name, fmt.file_sep) if m)
        self._guarded += tuple(stop for stop in fmt.stop if stop not in self._guarded)
        self.n_ctx = self.llm.n_ctx()
        self.eog = frozenset(eog_token_ids(self.llm))
        self._pieces: dict[int, bytes] = {}
        self._current = 0
        # Kept on self: ctypes callbacks must outlive their registration.
        self._abort_cb = llama_cpp.ggml_abort_callback(lambda _data: self.stale())
        llama_cpp.llama_set_abort_callback(self.llm.ctx, self._abort_cb, None)

    def _is_single_special(self, text: str) -> bool:
        tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        plain = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)
        return len(tokens) == 1 and len(plain) > 1

    def stale(self) -> bool:
        """Whether a newer request than the running one exists."""
        return bool(self.newest.value > self._current)

    def close(self) -> None:
        self.llm.close()

    def tokenize(self, text: str) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count(self, text: str) -> int:
        """Tokens in ``text`` (markers counted as several plain tokens: a small overestimate)."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    def build(self, message: Complete | RenderFim) -> FimPrompt:
        budget = message.budget if isinstance(message, RenderFim) else message.limits.budget
        budget = replace(budget, total=min(budget.total, self.n_ctx - 128))
        return fit_prompt(self.format, message.request, self.count, budget)

    def prompt_tokens(self, prompt: FimPrompt) -> list[int]:
        """Tokens of ``prompt``: markers as special tokens, the user's text never (a file
        containing ``<|fim_prefix|>`` must not steer the model)."""
        tokens: list[int] = []
        for piece, special in prompt.parts:
            if special:
                tokens.extend(self.llm.tokenize(piece.encode("utf-8"), add_bos=False, special=True))
                continue
            # llama.cpp matches USER_DEFINED tokens (Qwen's FIM markers) even in plain text, so a
            # marker inside the user's code is tokenized in two halves: its characters, not the token.
            for part in _split_markers(piece, self._guarded):
                tokens.extend(self.llm.tokenize(part.encode("utf-8"), add_bos=False, special=False))
        return tokens

    def render(self, message: RenderFim) -> RenderedFim:
        prompt = self.build(message)
        return RenderedFim(prompt.text, len(self.prompt_tokens(prompt)), prompt.related)

    def complete(self, message: Complete, send: Send) -> None:
        started = time.monotonic()
        self._current = message.request_id
        if self.stale():
            send(CompletionFinished(message.request_id, "", "cancelled", CompletionStats()))
            return
        prompt = self.build(message)
        tokens = self.prompt_tokens(prompt)
        llm = self.llm
        cached = llm.input_ids[: llm.n_tokens].tolist()
        reused = _common_prefix(cached, tokens)
        if reused == len(tokens):
            reused = max(0, len(tokens) - 1)
        limits = message.limits
        max_tokens = max(1, min(limits.max_tokens, self.n_ctx - len(tokens)))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        raw = ""
        shown = ""
        generated = 0
        first_at: float | None = None
        last_flush = 0.0
        reason = "done"
        error = ""
        stops = self.format.stop
        generator = llm.generate(tokens, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0)
        try:
            for token in generator:
                if self.stale():
                    reason = "cancelled"
                    break
                if token in self.eog:
                    break
                generated += 1
                piece = self._pieces.get(token)
                if piece is None:
                    piece = self._pieces[token] = llm.detokenize([token])
                raw += decoder.decode(piece)
                hit = min((raw.find(s) for s in stops if s in raw), default=-1)
                if hit >= 0:
                    raw = raw[:hit]
                tidied = tidy_suggestion(raw, prompt.prefix, prompt.suffix, limits.max_lines)
                now = time.monotonic()
                if tidied.text and tidied.text != shown and (first_at is None or now - last_flush >= FLUSH_SECONDS):
                    if first_at is None:
                        first_at = now
                    send(SuggestionText(message.request_id, tidied.text))
                    shown, last_flush = tidied.text, now
                if hit >= 0 or tidied.complete or generated >= max_tokens:
                    break
        except RuntimeError as err:
            if self.stale():
                reason = "cancelled"
            else:
                reason, error = "error", f"llama.cpp failed while completing ({err}); try again."
        finally:
            generator.close()
        if generated or reason == "done":
            evaluated = len(tokens) - reused
        else:  # stopped during the prompt: the batches evaluated so far stay in the cache
            evaluated = max(0, min(llm.n_tokens, len(tokens)) - reused)
        final = "" if reason != "done" else tidy_suggestion(raw, prompt.prefix, prompt.suffix, limits.max_lines).text
        if final and final != shown:
            if first_at is None:
                first_at = time.monotonic()
            send(SuggestionText(message.request_id, final))
        stats = CompletionStats(
            prompt_tokens=len(tokens),
            prompt_tokens_evaluated=evaluated,
            prompt_tokens_reused=reused,
            generated_tokens=generated,
            seconds_to_first=None if first_at is None else first_at - started,
            seconds_total=time.monotonic() - started,
        )
        send(CompletionFinished(message.request_id, final, reason, stats, error))  # type: ignore[arg-type]


def _split_markers(text: str, markers: tuple[str, ...]) -> list[str]:
    """``text`` cut in the middle of every marker it contains (no piece holds a whole marker)."""
    if not any(marker in text for marker in markers):
        return [text]
    parts: list[str] = []
    start = 0
    i = 0
    while i < len(text):
        found = next((m for m in markers if len(m) > 1 and text.startswith(m, i)), None)
        if found is None:
            i += 1
            continue
        half = i + len(found) // 2
        parts.append(text[start:half])
        start = half
        i += len(found)
    parts.append(text[start:])
    return [part for part in parts if part]


def _open_log(log_path: str) -> TextIO:
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "w", encoding="utf-8", errors="replace", buffering=1)  # noqa: SIM115
    os.dup2(stream.fileno(), 2)  # native aborts write to fd 2
    sys.stderr = stream
    faulthandler.enable(stream)
    return stream


def completion_worker_main(conn: Connection, newest: Any, log_path: str) -> None:
    """Entry point of the completion worker process."""
    stream = _open_log(log_path)
    import llama_cpp

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def _on_log(_level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        stream.write(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
    session: FimSession | None = None
    conn.send(WorkerUp(os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        try:
            if isinstance(message, CompletionLoad):
                if session is not None:
                    session.close()
                    session = None
                try:
                    session = FimSession(message, newest)
                except NotFimCapableError as err:
                    conn.send(CompletionRefused(str(err)))
                except Exception as err:  # llama.cpp says little more than "failed to load"
                    conn.send(
                        CompletionRefused(
                            f"The completion model could not be loaded ({err}); choose another GGUF file."
                        )
                    )
                else:
                    conn.send(CompletionModelReady(session.format.name, session.n_ctx))
            elif isinstance(message, Complete):
                if session is None:
                    conn.send(
                        CompletionFinished(
                            message.request_id, "", "error", CompletionStats(), "No completion model is loaded."
                        )
                    )
                else:
                    session.complete(message, conn.send)
            elif isinstance(message, RenderFim):
                if session is None:
                    conn.send(CompletionRefused("No completion model is loaded."))
                else:
                    conn.send(session.render(message))
            elif isinstance(message, QuitWorker):
                break
        except (BrokenPipeError, EOFError):
            break
    if session is not None:
        session.close()
    stream.close()
