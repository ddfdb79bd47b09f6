"""Named connection profiles: checking them, finding one, and keeping their keys in step.

The profiles themselves are settings (``app.core.settings.ConnectionSettings``);
this module holds what the settings dialog, the window and ``quillpad chat
--profile`` do with them, so they all refuse the same bad input with the same
one-sentence messages.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from app.core.errors import QuillpadError
from app.core.remote.config import RemoteConfig, normalise_base_url
from app.core.remote.keys import KeyStore
from app.core.settings import LOCAL_PROFILE, PROFILE_NAME_MAX, ConnectionProfile, ConnectionSettings

log = logging.getLogger(__name__)


class ProfileError(QuillpadError):
    """A connection profile that cannot be saved or used as asked."""


def check_name(name: str, others: Iterable[str]) -> str:
    """``name`` stripped, or ``ProfileError`` when it is empty, too long or taken by one of ``others``."""
    text = name.strip()
    if not text:
        raise ProfileError("A connection profile needs a name; type one, such as Team vLLM.")
    if len(text) > PROFILE_NAME_MAX:
        raise ProfileError(f"A connection profile name can have at most {PROFILE_NAME_MAX} characters; shorten it.")
    if any(not ch.isprintable() for ch in text):
        raise ProfileError("A connection profile name cannot contain control characters; type a plain name.")
    taken = {other.casefold() for other in others}
    if text.casefold() in taken or text.casefold() == LOCAL_PROFILE.casefold():
        raise ProfileError(f"There is already a connection profile named {text!r}; choose another name.")
    return text


def check_profiles(connections: ConnectionSettings) -> None:
    """Refuse a server profile without a usable address, naming the profile."""
    for profile in connections.profiles:
        if profile.backend != "remote":
            continue
        if not profile.base_url.strip():
            raise ProfileError(
                f"The profile {profile.name!r} has no server address; enter one such as http://127.0.0.1:8080/v1."
            )
        try:
            normalise_base_url(profile.base_url)
        except QuillpadError as err:
            raise ProfileError(f"In the profile {profile.name!r}: {err}") from None


def find_profile(connections: ConnectionSettings, name: str) -> ConnectionProfile:
    """The profile called ``name`` (exact, then ignoring case), or a message listing the saved ones."""
    found = connections.profile(name) or next(
        (p for p in connections.profiles if p.name.casefold() == name.strip().casefold()), None
    )
    if found is None:
        names = ", ".join(repr(p.name) for p in connections.profiles)
        raise ProfileError(f"There is no connection profile named {name!r}; the saved ones are: {names}.")
    return found


def profile_config(profile: ConnectionProfile, keys: KeyStore, api_key: str | None = None) -> RemoteConfig:
    """The server ``profile`` names, with ``api_key`` or else the profile's key from the keyring."""
    config = RemoteConfig(
        profile.base_url, profile.model, api_key=api_key, read_timeout=profile.read_timeout, ca_file=profile.ca_file
    )
    if config.api_key is None:
        config = replace(config, api_key=keys.get_profile(profile.name, config.base_url))
    return config


def key_for_server(connections: ConnectionSettings, keys: KeyStore, base_url: str) -> str | None:
    """For an ad-hoc ``--server``: a key saved for that address, bare or by a profile on that same server."""
    url = normalise_base_url(base_url)
    key = keys.get(url)
    for profile in connections.profiles:
        if key is not None:
            break
        if profile.backend == "remote" and same_server(profile.base_url, url):
            key = keys.get_profile(profile.name, url)
    return key


def same_server(a: str, b: str) -> bool:
    """Whether two addresses name the same API root (``False`` when either is unusable)."""
    try:
        return normalise_base_url(a) == normalise_base_url(b)
    except QuillpadError:
        return False


@dataclass
class KeyEdits:
    """What the settings dialog did to keys.

    ``entered``: keys typed, by (new) profile name. ``origins``: each profile's
    name when the dialog opened (``None`` for a new one); ``None`` as a whole
    means no profile was renamed.
    """

    entered: dict[str, str] = field(default_factory=dict)
    origins: dict[str, str | None] | None = None


def apply_key_edits(keys: KeyStore, old: ConnectionSettings, new: ConnectionSettings, edits: KeyEdits) -> list[str]:
    """Move keys of renamed profiles, remove those of deleted or re-addressed ones, store typed ones.

    A profile whose server address changed loses its key rather than sending
    it to another server. Returns notices for the user (session-only keys).
    """
    origins = edits.origins
    if origins is None:
        origins = {p.name: (p.name if old.profile(p.name) is not None else None) for p in new.profiles}
    notices: list[str] = []
    for before in old.profiles:
        if before.backend != "remote" or not before.base_url.strip():
            continue
        after = next((new.profile(n) for n, origin in origins.items() if origin == before.name), None)
        try:
            if after is None or after.backend != "remote" or not same_server(before.base_url, after.base_url):
                keys.delete_profile(before.name, before.base_url)
            elif after.name != before.name:
                notice = keys.move_profile(before.name, after.name, before.base_url)
                if notice:
                    notices.append(notice)
        except QuillpadError as err:  # an address that never was usable has no key to move
            log.info("no key to update for profile %r: %s", before.name, err)
    for name, key in edits.entered.items():
        profile = new.profile(name)
        if profile is None or profile.backend != "remote":
            continue
        try:
            notice = keys.set_profile(profile.name, profile.base_url, key)
        except QuillpadError as err:
            notice = str(err)
        if notice:
            notices.append(notice)
    return notices


def chosen_server(
    connections: ConnectionSettings,
    keys: KeyStore,
    *,
    server: str | None,
    profile: str | None,
    model: str | None,
    api_key: str | None,
    read_timeout: float | None = None,
    ca_file: str | None = None,
) -> RemoteConfig | None:
    """The server named by ``server`` or a remote ``profile`` (``None``: the local engine).

    A key comes from ``api_key``, then the keyring (the profile's own key, or
    for ``server`` one saved for that address). ``model`` is the server's
    model name; empty keeps the profile's (or the server's first).
    """
    if profile:
        chosen = find_profile(connections, profile)
        if chosen.backend == "local":
            return None  # this computer: the model is a GGUF file
        config = profile_config(chosen, keys, api_key)
        if model:
            config = replace(config, model=model)
        if read_timeout is not None:
            config = replace(config, read_timeout=read_timeout)
        if ca_file:
            config = replace(config, ca_file=ca_file)
        return config
    if not server:
        return None
    config = RemoteConfig(
        server,
        model or "",
        api_key=api_key,
        read_timeout=read_timeout if read_timeout is not None else 120.0,
        ca_file=ca_file,
    )
    if config.api_key is None:  # perhaps saved from the GUI's settings
        config = replace(config, api_key=key_for_server(connections, keys, config.base_url))
    return config
