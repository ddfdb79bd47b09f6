"""Using a model server from the window: connect when the active connection
profile says so, keep each profile's API key in the keyring, show the server
in the model banner.

The connection itself happens on the engine thread (``EngineBridge``); this
object only reacts to its signals, so the GUI never waits on the network.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.errors import QuillpadError
from app.core.remote import RemoteConfig, RemoteModel
from app.core.remote.keys import KeyStore
from app.core.remote.profiles import KeyEdits, apply_key_edits, profile_config
from app.core.settings import Settings
from app.ui.models.banner import ModelBanner
from app.ui.models.engine_bridge import EngineBridge


def remote_config(settings: Settings, keys: KeyStore) -> RemoteConfig:
    """The server the active profile names, with its key from the keyring."""
    return profile_config(settings.connections.current, keys)


class RemoteController(QObject):
    """Local or remote, as the active connection profile chooses."""

    modelReady = Signal(str, int)  # display name ("" when none), context length
    notice = Signal(str)

    def __init__(
        self, parent: QWidget, bridge: EngineBridge, banner: ModelBanner, settings: Callable[[], Settings]
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.banner = banner
        self.settings = settings
        self.keys = KeyStore()
        self.connected: RemoteModel | None = None
        bridge.remoteConnected.connect(self._on_connected)
        bridge.modelLoaded.connect(self._on_local_model)

    @property
    def active(self) -> bool:
        return self.settings().connections.current.backend == "remote"

    def keyed_profiles(self) -> set[str]:
        """Names of the server profiles that have a key in the keyring."""
        return {
            p.name
            for p in self.settings().connections.profiles
            if p.backend == "remote" and p.base_url and self.keys.has_key(p.name, p.base_url)
        }

    def start(self) -> None:
        """At startup: connect if the active profile is a server."""
        if self.active and self.settings().connections.current.base_url:
            self.connect_server()

    def connect_server(self) -> None:
        """(Re)connect to the active profile's server."""
        try:
            config = remote_config(self.settings(), self.keys)
        except QuillpadError as err:
            self.banner.show_problem(str(err))
            self.notice.emit(str(err))
            return
        self.connected = None
        self.banner.show_loading(f"{config.model or 'the model'} at {config.base_url}")
        self.modelReady.emit("", 0)
        self.bridge.connect_remote(config)

    def apply(self, old: Settings, new: Settings, edits: KeyEdits | None = None) -> None:
        """After the settings dialog or a profile switch: update keys, then connect or go back to local."""
        edits = edits or KeyEdits()
        for notice in apply_key_edits(self.keys, old.connections, new.connections, edits):
            self.notice.emit(notice)
        before, after = old.connections.current, new.connections.current
        if after.backend == "remote":
            if after.name in edits.entered or after != before or self.connected is None:
                self.connect_server()
        elif before.backend == "remote":
            self.connected = None
            self.bridge.use_local()
            self.banner.clear()
            self.modelReady.emit("", 0)
            self.notice.emit("Replies come from this computer again; open a GGUF model to chat.")

    def _on_connected(self, remote: RemoteModel) -> None:
        self.connected = remote
        self.banner.show_remote(remote.model, remote.base_url, remote.context_length)
        self.modelReady.emit(remote.display_name, remote.context_length or 0)
        self.notice.emit(f"Connected to {remote.display_name}.")

    def _on_local_model(self, _loaded: object) -> None:
        self.connected = None  # loading a GGUF file switches this session to the local engine
