"""API keys for model servers, kept in the system keyring, never in settings.

``keyring`` picks the platform's store (Secret Service, macOS Keychain,
Windows Credential Locker). Without a usable one the key is kept in memory
for this session only and ``notice`` says so; it is never written to a file
and never logged.
"""

from __future__ import annotations

import contextlib
import logging

from app.core.errors import QuillpadError
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


def profile_account(name: str, base_url: str) -> str:
    """The keyring entry of a profile's key: its name and its server together.

    Keyed by both, so two profiles never share a key and a profile whose
    address changes never sends its old key to the new server.
    """
    return f"profile {name} @ {normalise_base_url(base_url)}"


class KeyStore:
    """Keys by server (the normalised base URL) or by connection profile (name and server)."""

    def __init__(self) -> None:
        self._session: dict[str, str] = {}
        self.notice: str | None = None

    # -- by server address (``quillpad chat --server``, settings of version 1) --

    def get(self, base_url: str) -> str | None:
        """The key stored for ``base_url``, or ``None``."""
        return self._get(normalise_base_url(base_url))

    def set(self, base_url: str, key: str) -> str | None:
        """Remember ``key`` for ``base_url``; returns a notice when it is kept for this session only."""
        return self._set(normalise_base_url(base_url), key)

    def delete(self, base_url: str) -> None:
        """Forget the key for ``base_url`` (in the keyring and this session)."""
        self._delete(normalise_base_url(base_url))

    # -- by connection profile ----------------------------------------------

    def get_profile(self, name: str, base_url: str) -> str | None:
        """The key of profile ``name`` at ``base_url``.

        A profile migrated from version 1 settings takes over the key saved
        then under the bare server address (the same server, so the same
        key): it moves to the profile, so renaming or deleting the profile
        later moves or removes it too.
        """
        account = profile_account(name, base_url)
        key = self._get(account)
        if key is None:
            legacy = normalise_base_url(base_url)
            key = self._get(legacy)
            if key is not None:
                self._set(account, key)
                self._delete(legacy)
        return key

    def has_key(self, name: str, base_url: str) -> bool:
        """Whether profile ``name`` at ``base_url`` has a key (``False`` for no usable address)."""
        try:
            return self.get_profile(name, base_url) is not None
        except QuillpadError:  # no usable address: no key either
            return False

    def set_profile(self, name: str, base_url: str, key: str) -> str | None:
        """Remember ``key`` for profile ``name`` at ``base_url`` (empty: forget it)."""
        return self._set(profile_account(name, base_url), key)

    def delete_profile(self, name: str, base_url: str) -> None:
        """Forget the key of profile ``name`` at ``base_url``."""
        self._delete(profile_account(name, base_url))

    def move_profile(self, old_name: str, new_name: str, base_url: str) -> str | None:
        """A renamed profile keeps its key (same server, new name)."""
        key = self._get(profile_account(old_name, base_url))
        if key is None:
            return None
        notice = self._set(profile_account(new_name, base_url), key)
        self._delete(profile_account(old_name, base_url))
        return notice

    # -- the store itself ------------------------------------------------------

    def _get(self, account: str) -> str | None:
        if account in self._session:
            return self._session[account]
        if not _keyring_usable():
            return None
        import keyring

        try:
            return keyring.get_password(SERVICE, account)
        except Exception as err:  # the store may be locked or gone; the user can enter the key again
            log.warning("could not read an API key from the keyring: %s", type(err).__name__)
            return None

    def _set(self, account: str, key: str) -> str | None:
        key = key.strip()
        if not key:
            self._delete(account)
            return None
        if _keyring_usable():
            import keyring

            try:
                keyring.set_password(SERVICE, account, key)
            except Exception as err:
                log.warning("could not store an API key in the keyring: %s", type(err).__name__)
            else:
                self._session.pop(account, None)
                return None
        self._session[account] = key
        self.notice = SESSION_ONLY
        return SESSION_ONLY

    def _delete(self, account: str) -> None:
        self._session.pop(account, None)
        if _keyring_usable():
            import keyring

            # Nothing stored, or the store is unavailable: nothing to forget.
            with contextlib.suppress(Exception):
                keyring.delete_password(SERVICE, account)
