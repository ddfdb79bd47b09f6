"""API keys for model servers, kept in the system keyring, never in settings.

``keyring`` picks the platform's store (Secret Service, macOS Keychain,
Windows Credential Locker). Without a usable one the key is kept in memory
for this session only and ``notice`` says so; it is never written to a file
and never logged.
"""

from __future__ import annotations

import contextlib
import logging

from app.core.remote.config import normalise_base_url

log = logging.getLogger(__name__)

SERVICE = "quillpad-model-server"
SESSION_ONLY = (
    "No system keyring is available, so the API key is kept for this session only; "
    "install a keyring service (such as GNOME Keyring or KWallet) to remember it."
)


def _keyring_usable() -> bool:
    import keyring
    from keyring.backends import fail

    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration: treat as none
        return False
    return not isinstance(backend, fail.Keyring) and float(getattr(backend, "priority", 1)) > 0


class KeyStore:
    """Keys by server (the normalised base URL)."""

    def __init__(self) -> None:
        self._session: dict[str, str] = {}
        self.notice: str | None = None

    def get(self, base_url: str) -> str | None:
        """The key stored for ``base_url``, or ``None``."""
        url = normalise_base_url(base_url)
        if url in self._session:
            return self._session[url]
        if not _keyring_usable():
            return None
        import keyring

        try:
            return keyring.get_password(SERVICE, url)
        except Exception as err:  # the store may be locked or gone; the user can enter the key again
            log.warning("could not read an API key from the keyring: %s", type(err).__name__)
            return None

    def set(self, base_url: str, key: str) -> str | None:
        """Remember ``key`` for ``base_url``; returns a notice when it is kept for this session only."""
        url = normalise_base_url(base_url)
        key = key.strip()
        if not key:
            self.delete(url)
            return None
        if _keyring_usable():
            import keyring

            try:
                keyring.set_password(SERVICE, url, key)
            except Exception as err:
                log.warning("could not store an API key in the keyring: %s", type(err).__name__)
            else:
                self._session.pop(url, None)
                return None
        self._session[url] = key
        self.notice = SESSION_ONLY
        return SESSION_ONLY

    def delete(self, base_url: str) -> None:
        """Forget the key for ``base_url`` (in the keyring and this session)."""
        url = normalise_base_url(base_url)
        self._session.pop(url, None)
        if _keyring_usable():
            import keyring

            # Nothing stored, or the store is unavailable: nothing to forget.
            with contextlib.suppress(Exception):
                keyring.delete_password(SERVICE, url)
