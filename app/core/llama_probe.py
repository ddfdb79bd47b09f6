"""Ask the bundled llama.cpp, in a child process, whether it can read a model.

A vocabulary-only load runs llama.cpp's own architecture and tokenizer checks
without reading weights. It runs in a spawned child so that a native abort or
segfault on a hostile file is reported, not suffered.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from app.core.errors import ModelFileError
from app.core.supervised import ChildDied, ChildExit, ChildTimeout, SupervisedChild

_PROBE_MIN_SECONDS = 15.0  # spawning and importing llama.cpp takes a while


@dataclass(frozen=True)
class _VocabRead:
    n_vocab: int


@dataclass(frozen=True)
class _Refused:
    logs: str


def _probe_child(conn: Connection, path: str) -> None:
    """Runs in the child: load the vocabulary, send ``_VocabRead`` or ``_Refused`` with llama.cpp's log."""
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
            conn.send(_Refused("".join(logs)))
            return
        vocab = llama_cpp.llama_model_get_vocab(model)
        n_vocab = llama_cpp.llama_vocab_n_tokens(vocab)
        llama_cpp.llama_model_free(model)
        conn.send(_VocabRead(n_vocab))
    except Exception as err:  # reported to the parent as plain data
        conn.send(_Refused("".join(logs) + f"\n{type(err).__name__}: {err}"))
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
    child = SupervisedChild(_probe_child, (str(path),), name="quillpad-probe")
    try:
        child.start()
        reply = child.receive(max(timeout, _PROBE_MIN_SECONDS))
    except ChildTimeout:
        raise ModelFileError(
            f"llama.cpp took too long to read {name}, so it was stopped; the file may be damaged."
        ) from None
    except ChildDied as err:
        raise ModelFileError(_crash_message(name, err.exit)) from None
    finally:
        child.close(grace=2.0)
    if isinstance(reply, _VocabRead):
        return reply.n_vocab
    logs = reply.logs if isinstance(reply, _Refused) else ""
    if "unknown model architecture" in logs:
        raise ModelFileError(
            f"{name} is a '{architecture}' model, which the bundled llama.cpp cannot run; "
            "choose a model of a supported architecture (such as Qwen3) or update Quillpad."
        )
    raise ModelFileError(
        f"llama.cpp cannot read {name} ({_error_line(logs)}); the file may be damaged or need a newer llama.cpp."
    )


def _crash_message(name: str, exit: ChildExit) -> str:
    return (
        f"llama.cpp crashed while reading {name} ({exit.describe()}); the file is probably damaged, "
        "so download it again."
    )
