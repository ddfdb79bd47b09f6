"""The check worker process: a SymPy session answering one request at a time.

Each SymPy call inside is limited by ``checks.limited`` (SIGALRM in this
process's main thread); the parent also kills the whole process if a request
overruns, because a call stuck in C code ignores signals.
"""

from __future__ import annotations

import contextlib
from multiprocessing.connection import Connection
from typing import Any


def _handle(session: Any, op: str, payload: dict[str, Any]) -> Any:
    from app.core.mathcheck.session import Session

    if op == "begin":
        return Session(limit=float(payload.get("limit", 2.0)))
    if op == "words":
        session.words = (session.words + " " + payload["words"]).strip()
        return None
    if op == "step":
        return session.step(payload["words"], list(payload["math"]))
    if op == "answer":
        return session.answer(payload["answer"])
    if op == "equivalent":
        return _equivalent(payload["a"], payload["b"])
    raise ValueError(f"unknown request {op!r}")


def _equivalent(a: str, b: str) -> tuple[bool, str]:
    """Whether two final answers (LaTeX) are the same value: the evaluation's MATH comparison."""
    from sympy import simplify

    from app.core.symbolic.reader import read_answer

    try:
        x, y = read_answer(a), read_answer(b)
        same = bool(simplify(x - y) == 0)
        if not same:
            with contextlib.suppress(Exception):
                same = bool(x.equals(y))
        return same, "sympy"
    except Exception as err:
        return False, f"sympy could not parse ({type(err).__name__})"


def serve(conn: Connection) -> None:
    """Answer requests until told to quit or the pipe closes."""
    import sympy  # noqa: F401  (loaded once, before the first request is timed)

    session: Any = None
    while True:
        try:
            op, payload = conn.recv()
        except (EOFError, OSError):
            return
        if op == "quit":
            return
        try:
            result = _handle(session, op, payload)
            if op == "begin":
                session, result = result, None
            conn.send(("ok", result))
        except BaseException as err:  # a failed check must never end the worker
            conn.send(("error", f"{type(err).__name__}: {err}"))
