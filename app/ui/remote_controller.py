"""Using a model server from the window: connect when the settings say so,
keep its API key in the keyring, show the server in the model banner.

The connection itself happens on the engine thread (``EngineBridge``); this
object only reacts to its signals, so the GUI never waits on the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from app.core.errors import QuillpadError
from app.core.remote import RemoteConfig, RemoteModel
from app.core.remote.keys import KeyStore
from app.core.settings import Settings
from app.ui.engine_bridge import EngineBridge
from app.ui.model_banner import ModelBanner


def remote_config(settings: Settings, keys: KeyStore) -> RemoteConfig:
    """The server the settings name, with its key from the keyring."""
    remote = settings.remote
    config = RemoteConfig(remote.base_url, remote.model, read_timeout=remote.read_timeout)
    return replace(config, api_key=keys.get(config.base_url))


class RemoteController(QObject):
    """Local or remote, as the user's settings choose."""

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
        return self.settings().remote.backend == "remote"

    def has_key(self) -> bool:
        """Whether a key is stored for the server in the settings."""
        url = self.settings().remote.base_url
        try:
            return bool(url) and self.keys.get(url) is not None
        except QuillpadError:
            return False

    def start(self) -> None:
        """At startup: connect if the settings choose a server."""
        if self.active and self.settings().remote.base_url:
            self.connect()

    def connect(self) -> None:
        """(Re)connect to the server in the settings."""
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

    def apply(self, old: Settings, new: Settings, api_key: str | None) -> None:
        """After the settings dialog: store a new key, then connect or go back to local."""
        if api_key is not None and new.remote.base_url:
            try:
                notice = self.keys.set(new.remote.base_url, api_key)
            except QuillpadError as err:
                notice = str(err)
            if notice:
                self.notice.emit(notice)
        if new.remote.backend == "remote":
            if api_key is not None or new.remote != old.remote or self.connected is None:
                self.connect()
        elif old.remote.backend == "remote":
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
