"""One-sentence messages for everything that can go wrong with a model server.

They name the server, say what happened in plain words and what to do. The
API key never appears in them (nor does any request header).
"""

from __future__ import annotations

import json
import ssl
import time
from email.utils import parsedate_to_datetime

import httpx

from app.core.remote.config import API_KEY_ENV, RemoteConfig

MAX_DETAIL = 200


def server_detail(body: bytes) -> str:
    """The server's own explanation from an error body, shortened to one line."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            text = error if isinstance(error, str) else json.dumps(error)
    text = " ".join(text.split())
    return text[:MAX_DETAIL] + ("…" if len(text) > MAX_DETAIL else "")


def _root_cause(err: BaseException) -> BaseException:
    seen: set[int] = set()
    while err.__cause__ is not None or err.__context__ is not None:
        if id(err) in seen:
            break
        seen.add(id(err))
        nxt = err.__cause__ or err.__context__
        assert nxt is not None
        err = nxt
    return err


def _is_tls(err: BaseException) -> bool:
    root = _root_cause(err)
    text = f"{err} {root}"
    return isinstance(root, ssl.SSLError) or "SSL" in text or "CERTIFICATE" in text.upper()


def transport_message(err: Exception, config: RemoteConfig, *, during_reply: bool = False) -> str:
    """A message for a network-level failure (no HTTP status to go by)."""
    where = config.host
    if isinstance(err, httpx.ConnectTimeout):
        return (
            f"The model server at {where} did not answer within {config.connect_timeout:g} s; "
            "check the address and that the server is running."
        )
    if isinstance(err, httpx.ReadTimeout):
        return (
            f"The model server at {where} sent nothing for {config.read_timeout:g} s, so the reply was ended "
            "(the server may be stuck or overloaded); the partial answer is kept."
        )
    if isinstance(err, httpx.TimeoutException):
        return f"The model server at {where} timed out ({type(err).__name__}); try again."
    if isinstance(err, httpx.ConnectError) or (isinstance(err, httpx.TransportError) and not during_reply):
        if _is_tls(err):
            detail = str(_root_cause(err)) or type(_root_cause(err)).__name__
            return (
                f"The secure (TLS) connection to {where} failed ({detail}); check that the server's certificate "
                "is valid for this address, or trust its certificate authority."
            )
        text = str(_root_cause(err)).lower()
        if "refused" in text:
            return (
                f"Could not connect to {where}: the connection was refused; check that the model server is "
                "running and listening on that address and port."
            )
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text or "resolution" in text:
            return f"The host name in {config.base_url} could not be found; check the server address."
        return f"Could not connect to {where} ({_root_cause(err) or type(err).__name__}); check the server address."
    if isinstance(err, httpx.TransportError | httpx.StreamError | OSError):
        return (
            f"The connection to {where} was lost in the middle of the reply (the server may have stopped "
            "or crashed); the partial answer is kept."
        )
    return f"The model server at {where} failed unexpectedly ({type(err).__name__}: {err})."


def status_message(
    status: int,
    body: bytes,
    config: RemoteConfig,
    *,
    model: str,
    available: tuple[str, ...] | None = None,
) -> str:
    """A message for an HTTP error status from the server."""
    where = config.host
    detail = server_detail(body)
    if status in (401, 403):
        if config.api_key is None:
            return (
                f"The model server at {where} needs an API key (HTTP {status}); enter it in Settings ▸ Model, "
                f"or pass --api-key or set {API_KEY_ENV}."
            )
        return (
            f"The model server at {where} refused the API key (HTTP {status}); check the key in Settings ▸ Model, "
            f"--api-key or {API_KEY_ENV}."
        )
    if status == 404:
        model_unknown = "model" in detail.lower() or (available is not None and model not in available)
        if model_unknown:
            return unknown_model_message(where, model, available)
        return (
            f"Nothing answers at {config.base_url}/chat/completions (HTTP 404); check the server address "
            "(it usually ends in /v1)."
        )
    if status == 429:
        return f"The model server at {where} is busy (HTTP 429: {detail}); try again in a moment."
    if status >= 500:
        return f"The model server at {where} failed (HTTP {status}: {detail or 'no details'}); check the server's log."
    return f"The model server at {where} rejected the request (HTTP {status}: {detail or 'no details'})."


def unknown_model_message(where: str, model: str, available: tuple[str, ...] | None) -> str:
    """The server does not have ``model``; list what it has when known."""
    if available:
        shown = ", ".join(available[:10]) + (", …" if len(available) > 10 else "")
        return f"The model server at {where} has no model named {model!r}; it offers: {shown}."
    return f"The model server at {where} has no model named {model!r}; check the model name."


def is_transient(err: Exception) -> bool:
    """Whether a network-level failure may pass if asked again (a TLS or address problem will not)."""
    if isinstance(err, httpx.TimeoutException):
        return True
    if isinstance(err, httpx.TransportError | httpx.StreamError | OSError):
        if _is_tls(err):
            return False
        text = str(_root_cause(err)).lower()
        return not ("name or service" in text or "nodename" in text or "getaddrinfo" in text)
    return False


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """A ``Retry-After`` header (seconds, or an HTTP date) in seconds from now; ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)
