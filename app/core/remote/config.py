"""Where a model server is and how to reach it, validated before any request."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from app.core.errors import QuillpadError

API_KEY_ENV = "QUILLPAD_API_KEY"


class RemoteServerError(QuillpadError):
    """A model server that cannot be used (unreachable, refusing, unknown model)."""


def normalise_base_url(url: str) -> str:
    """The API root: ``http://host:8000`` becomes ``http://host:8000/v1``.

    A URL with a path is kept as given (some proxies serve the API elsewhere);
    one without a path gets ``/v1``, where every OpenAI-compatible server
    named in the README serves it.
    """
    text = url.strip()
    if not text:
        raise RemoteServerError("No server address is set; enter one such as http://127.0.0.1:8080/v1.")
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise RemoteServerError(f"The server address {url!r} must start with http:// or https://.")
    if not parts.hostname:
        raise RemoteServerError(f"The server address {url!r} has no host name; use one like http://127.0.0.1:8080/v1.")
    try:
        _ = parts.port
    except ValueError:
        raise RemoteServerError(f"The server address {url!r} has an invalid port number.") from None
    path = parts.path.rstrip("/") or "/v1"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def is_loopback(url: str) -> bool:
    """True for servers on this computer (proxy settings are not used for them)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class RemoteConfig:
    """A model server: its API root, the model to ask for, and credentials.

    ``model`` empty means "the first model the server lists". The API key is
    left out of ``repr`` so it cannot reach a log through a stray ``%r``.
    """

    base_url: str
    model: str = ""
    api_key: str | None = field(default=None, repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # longest silence inside a reply before it counts as stalled
    ca_file: str | None = None  # a certificate authority to trust (self-signed servers)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalise_base_url(self.base_url))
        object.__setattr__(self, "model", self.model.strip())
        key = (self.api_key or "").strip()
        object.__setattr__(self, "api_key", key or None)
        if self.connect_timeout <= 0 or self.read_timeout <= 0:
            raise RemoteServerError("Server timeouts must be more than 0 seconds.")

    @property
    def host(self) -> str:
        """``host:port`` for messages."""
        return urlsplit(self.base_url).netloc
