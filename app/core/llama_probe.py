"""Ask the bundled llama.cpp, in a child process, whether it can read a model.

A vocabulary-only load runs llama.cpp's own architecture and tokenizer checks
without reading weights. It runs in a spawned child so that a native abort or
segfault on a hostile file is reported, not suffered.
"""

from __future__ import annotations

import multiprocessing
import signal
from multiprocessing.connection import Connection
from pathlib import Path

from app.core.errors import ModelFileError

_PROBE_MIN_SECONDS = 15.0  # spawning and importing llama.cpp takes a while


def _probe_child(path: str, conn: Connection) -> None:
    """Runs in the child: load the vocabulary, send ("ok", n_vocab) or ("error", logs)."""
    logs: list[str] = []
    try:
        import llama_cpp

        @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]  # llama_cpp has no type information
        def _collect(level: int, text: bytes, user_data: object) -> None:
            logs.append(text.decode("utf-8", errors="replace"))

        llama_cpp.llama_log_set(_collect, None)
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        model = llama_cpp.llama_model_load_from_file(path.encode(), params)
        if not model:
            conn.send(("error", "".join(logs)))
            return
        vocab = llama_cpp.llama_model_get_vocab(model)
        n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        llama_cpp.llama_model_free(model)
        conn.send(("ok", n_vocab))
    except Exception as err:  # reported to the parent as plain data
        conn.send(("error", "".join(logs) + f"\n{type(err).__name__}: {err}"))
    finally:
        conn.close()


def _error_line(logs: str) -> str:
    """The most telling line of llama.cpp's log for a failed load."""
    lines = [line.strip() for line in logs.splitlines() if line.strip()]
    for line in reversed(lines):
        if "error" in line.lower() or "failed" in line.lower():
            return line.removeprefix("llama_model_load: ").rstrip(".")
    return lines[-1].rstrip(".") if lines else "no reason given"


def probe_vocab_load(path: Path, architecture: str, timeout: float = _PROBE_MIN_SECONDS) -> int:
    """Return the vocabulary size llama.cpp reads from ``path``.

    Raises ``ModelFileError`` when llama.cpp refuses the file, crashes on it,
    or takes longer than ``timeout`` seconds (at least 15).
    """
    name = path.name
    ctx = multiprocessing.get_context("spawn")
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_probe_child, args=(str(path), sender), daemon=True, name="quillpad-probe")
    child.start()
    sender.close()
    try:
        if not receiver.poll(max(timeout, _PROBE_MIN_SECONDS)):
            raise ModelFileError(f"llama.cpp took too long to read {name}, so it was stopped; the file may be damaged.")
        try:
            status, payload = receiver.recv()
        except EOFError:
            child.join(5)
            raise ModelFileError(_crash_message(name, child.exitcode)) from None
    finally:
        receiver.close()
        child.join(2)
        if child.is_alive():
            child.kill()
            child.join()
    if status == "ok":
        return int(payload)
    logs = str(payload)
    if "unknown model architecture" in logs:
        raise ModelFileError(
            f"{name} is a '{architecture}' model, which the bundled llama.cpp cannot run; "
            "choose a model of a supported architecture (such as Qwen3) or update Quillpad."
        )
    raise ModelFileError(
        f"llama.cpp cannot read {name} ({_error_line(logs)}); the file may be damaged or need a newer llama.cpp."
    )


def _crash_message(name: str, exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            how = signal.Signals(-exitcode).name
        except ValueError:
            how = f"signal {-exitcode}"
    else:
        how = f"exit code {exitcode}"
    return f"llama.cpp crashed while reading {name} ({how}); the file is probably damaged, so download it again."
