"""The main window: file tree, editor tabs, chat dock, bottom panels, status bar.

It wires the parts together and owns the app's lifetime (what happens on
close); each part does its own job (editor tabs, chat panel, model control).
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QProgressBar,
    QStackedWidget,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.core.agent.mcp_config import CONFIG_NAME
from app.core.agent.run import AgentMode
from app.core.agent.setup import agent_mode, mcp_hub
from app.core.chat.project_context import ProjectContextSource, context_budget
from app.core.chat_render import CodeBlock
from app.core.conversations import ConversationStore, database_path
from app.core.drafts import DraftStore
from app.core.edits.proposal import EditProposal
from app.core.engine import Engine, Stats
from app.core.errors import QuillpadError
from app.core.paths import AppPaths
from app.core.plugins.options import SettingsOptions
from app.core.project import CHARS_PER_TOKEN
from app.core.refs.sources import project_environments
from app.core.remote.profiles import KeyEdits
from app.core.settings import LoadedSettings, Settings, ThemeName, save_settings
from app.ui.chat.agent_job import AgentJob
from app.ui.chat.chat_input import ContextItem
from app.ui.chat.chat_panel import ChatPanel
from app.ui.editor.folder_view import FolderView
from app.ui.editor.inline_completion import InlineCompletion
from app.ui.editor.tabs import EditorTabs
from app.ui.evaluation import EvaluatePanel
from app.ui.git.controller import GitController
from app.ui.models.banner import ModelBanner
from app.ui.models.connection_switcher import ConnectionSwitcher
from app.ui.models.controller import ModelController
from app.ui.models.engine_bridge import EngineBridge
from app.ui.models.manager import ModelManagerController
from app.ui.models.remote_controller import RemoteController
from app.ui.plugins.controller import PluginController
from app.ui.project.controller import ProjectController
from app.ui.refs.controller import RefsController
from app.ui.shell.settings_dialog import SettingsDialog
from app.ui.shell.tools_page import ToolRow
from app.ui.shell.welcome import WelcomePage
from app.ui.theme.stylesheet import apply_theme
from app.ui.widgets.icons import icon
from app.ui.widgets.status_bar import ElidingStatusBar

log = logging.getLogger(__name__)

BOTTOM_PANEL_MIN_HEIGHT = 160  # px: a toolbar row, a status line and a few rows of results
# The code-reference index's first update waits this long after the window opens.
REFS_START_DELAY_MS = 15_000
SELECTION_PROMPTS = {
    "ask": "About this code: ",
    "explain": "Explain what this code does, step by step.",
    "edit": "Edit this code: ",
}


def open_conversation_store(paths: AppPaths) -> tuple[ConversationStore, str | None]:
    """The chat history; if it cannot be opened, a temporary one and why."""
    try:
        return ConversationStore(database_path(paths)), None
    except QuillpadError as err:
        fallback = Path(tempfile.mkdtemp(prefix="quillpad-chats-")) / "conversations.sqlite3"
        return ConversationStore(fallback), f"{err} Chats of this session will not be kept."


class MainWindow(QMainWindow):
    """Top-level window of the app."""

    def __init__(
        self,
        paths: AppPaths,
        loaded_settings: LoadedSettings,
        engine_factory: type[Engine] = Engine,
    ) -> None:
        super().__init__()
        self.paths = paths
        self.settings = loaded_settings.settings
        self._settings_read_only = loaded_settings.read_only
        self.setWindowTitle("Quillpad[*]")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.dark = apply_theme(app, self.settings.ui.theme)

        self.bridge = EngineBridge(engine_factory)
        self.tokens_per_char = 1 / CHARS_PER_TOKEN  # until a model is measured
        self.bridge.tokensPerChar.connect(lambda ratio: setattr(self, "tokens_per_char", ratio))
        self.store, store_notice = open_conversation_store(paths)
        self.drafts = DraftStore(paths.data_dir / "drafts")

        # Centre: the welcome page until a file is open, then the editor.
        self.tabs = EditorTabs(self.drafts, self)
        self.tabs.set_font_size(self.settings.ui.editor_font_size)
        self.welcome = WelcomePage(self)
        self.centre = QStackedWidget(self)
        self.centre.addWidget(self.welcome)
        self.centre.addWidget(self.tabs)
        self.setCentralWidget(self.centre)

        # Right: model banner above the chat.
        self.banner = ModelBanner(self)
        self.chat = ChatPanel(self.bridge, self.store, lambda: self.settings, self, dark=self.dark)
        chat_box = QWidget(self)
        chat_layout = QVBoxLayout(chat_box)
        chat_layout.setContentsMargins(0, 0, 0, 0)
        chat_layout.addWidget(self.banner)
        chat_layout.addWidget(self.chat, 1)
        self.chat_dock = self._dock("Chat", "chatDock", chat_box, Qt.DockWidgetArea.RightDockWidgetArea)

        # Left: the project's files.
        self.tree = FolderView(self)
        self.tree.fileActivated.connect(self.open_path)
        self.tree.notice.connect(self._notice)
        self.tree_dock = self._dock("Project", "projectDock", self.tree, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tree_dock.hide()

        # Bottom: panels that plugins add (tests, problems, git).
        self.bottom_tabs = QTabWidget(self)
        self.bottom_dock = self._dock("Panels", "bottomDock", self.bottom_tabs, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.bottom_dock.hide()
        self.evaluation: EvaluatePanel | None = None

        self.models = ModelController(self, self.bridge, self.banner, lambda: self.settings)
        self.model_manager = ModelManagerController(
            self, paths, lambda: self.settings, self.save_settings, self.models.inspect
        )
        self.remote = RemoteController(self, self.bridge, self.banner, lambda: self.settings)
        self.switcher = ConnectionSwitcher(self)
        self.switcher.refresh(self.settings.connections)
        self.plugins = PluginController(
            self,
            paths,
            self.bridge,
            self.chat,
            self.tabs,
            self.add_bottom_panel,
            options=SettingsOptions(lambda: self.settings, self.save_settings),
        )
        self.project = ProjectController(paths, self.plugins.host, self)
        self.refs = RefsController(paths, lambda: self.settings.refs, self)
        self.chat.refs = self.refs
        self.plugins.refs = self.refs
        self.plugins.confirm_matches = lambda: self.settings.refs.confirm_matches
        # The project context goes with a message as in ``quillpad chat --project``: the core's one assembler.
        project_context = ProjectContextSource(
            lambda: self.project.project, self._context_budget, self._editor_context, self.project.notice.emit
        )
        self.chat.context_source = project_context
        self.chat.on_message_sent = project_context.message_sent
        self.chat.input.set_completion_source("@", self.project.complete_file)
        # Inline completion: its own model in its own process, off until one is chosen.
        self.completion = InlineCompletion(self.settings.completion, self)
        self.completion.notice.connect(self._notice)
        self.completion.open_files = self._other_open_files
        self._build_status_bar()
        self._build_menus()
        self.git = GitController(
            self, paths, self.plugins.host, self.tabs, self.tree, lambda: self.settings, self.save_settings
        )
        self.plugins.before_apply, self.plugins.after_apply = self.git.before_apply, self.git.after_apply
        # Agent mode: the plugins' tools and the MCP servers of mcp.json (each started on first use).
        self.mcp = mcp_hub(paths, self._mcp_notice)
        self.chat.agent_setup = self._agent_mode
        self.chat.review_proposal = self._review_agent_edit
        self._build_toolbar()
        self._connect()
        self._restore_layout()
        self._notice(loaded_settings.notice)
        self._notice(store_notice or self.store.notice)
        self.welcome.set_recent(self.settings.recent_models)
        self.remote.start()

    # -- construction ------------------------------------------------------

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        self.setStatusBar(ElidingStatusBar(self))
        bar = self.statusBar()
        self.model_label = QLabel("No model", self)
        self.state_label = QLabel("engine: stopped", self)
        self.context_meter = QProgressBar(self)
        self.context_meter.setMaximumWidth(140)
        self.context_meter.setMaximumHeight(14)
        self.context_meter.setFormat("context %p%")
        self.context_meter.setValue(0)
        self.context_meter.setToolTip("How full the model's context was after the last reply")
        self.speed_label = QLabel("", self)
        self.position_label = QLabel("", self)
        widgets = (self.position_label, self.completion.label, self.switcher.combo, self.model_label, self.state_label)
        for widget in (*widgets, self.context_meter, self.speed_label):
            bar.addPermanentWidget(widget)

    def _action(
        self,
        menu_name: str,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
        icon_name: str | None = None,
    ) -> QAction:
        menu = self._menus.get(menu_name)
        if menu is None:
            menu = self._menus[menu_name] = self.menuBar().addMenu(menu_name)
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(slot)
        if icon_name is not None:
            self._icons.append((action, icon_name))
            action.setIcon(icon(icon_name))
        menu.addAction(action)
        return action

    def _build_toolbar(self) -> None:
        """The main actions as icons (their menu entries carry the same icons and shortcuts)."""
        bar = self.toolbar = QToolBar("Main toolbar", self)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        by_name = {name: action for action, name in self._icons}
        groups = [
            ["open-file", "open-folder", "save"],
            ["model", "models"],
            ["new-chat", "stop", "history"],
            ["commit", "evaluate", "settings"],
        ]
        self._icons.append((self.git.commit_action, "commit"))
        self.git.commit_action.setIcon(icon("commit"))
        by_name["commit"] = self.git.commit_action
        for number, group in enumerate(groups):
            if number:
                bar.addSeparator()
            for name in group:
                action = by_name[name]
                shortcut = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
                action.setToolTip(action.text().replace("&", "").rstrip("…") + (f" ({shortcut})" if shortcut else ""))
                bar.addAction(action)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)

    def _refresh_icons(self) -> None:
        """Icons drawn in the theme's text colour, again after a theme change."""
        for action, name in self._icons:
            action.setIcon(icon(name))

    def _build_menus(self) -> None:
        self._menus: dict[str, QMenu] = {}
        self._icons: list[tuple[QAction, str]] = []
        a = self._action
        a("&File", "New file", self.new_file, QKeySequence.StandardKey.New, "new-file")
        a("&File", "Open file…", self.open_file_dialog, QKeySequence.StandardKey.Open, "open-file")
        a("&File", "Open folder…", self.open_folder_dialog, "Ctrl+Shift+O", "open-folder")
        a("&File", "Save", self.tabs.save_current, QKeySequence.StandardKey.Save, "save")
        a("&File", "Close tab", self.tabs.close_current, QKeySequence.StandardKey.Close)
        a("&File", "Save as…", self.save_as_dialog, QKeySequence.StandardKey.SaveAs)
        a("&File", "Quit", self.close, QKeySequence.StandardKey.Quit, "quit")
        a("&Model", "Open GGUF model…", self.models.choose_file, "Ctrl+M", "model")
        a("&Model", "Manage models…", self.model_manager.show_dialog, "Ctrl+Shift+M", "models")
        a("&Model", "Restart engine", self.models.restart)
        a("&Model", "Restart completion model", self.completion.restart)
        a("&Model", "Unload model", self.models.unload)
        self._menus["&Model"].addMenu(self.switcher.menu)
        a("&Model", "Settings…", self.open_settings, QKeySequence.StandardKey.Preferences, "settings")
        a("&Model", "Plugins…", self.plugins.show_dialog, None, "plugins")
        a("&Model", "Evaluate…", self.open_evaluation, None, "evaluate")
        a("&Chat", "New chat", self.chat.new_chat, "Ctrl+Shift+N", "new-chat")
        a("&Chat", "Stop", self.chat.stop, "Ctrl+.", "stop")
        a("&Chat", "Regenerate", self.chat.regenerate, "Ctrl+Shift+R", "regenerate")
        a("&Chat", "History", self.chat.show_history, "Ctrl+H", "history")
        a("&View", "Light theme", lambda: self.set_theme("light"), None, "theme-light")
        a("&View", "Dark theme", lambda: self.set_theme("dark"), None, "theme-dark")
        a("&View", "System theme", lambda: self.set_theme("system"))
        view_menu = self._menus["&View"]
        for dock in (self.chat_dock, self.tree_dock, self.bottom_dock):
            view_menu.addAction(dock.toggleViewAction())

    def _connect(self) -> None:
        self.tabs.notice.connect(self._notice)
        self.tabs.selectionAction.connect(self._on_selection_action)
        self.tabs.currentFileChanged.connect(self._on_current_file)
        self.tabs.fileSaved.connect(self.project.file_saved)
        self.tabs.positionChanged.connect(lambda line, col: self.position_label.setText(f"Ln {line}, Col {col}"))
        self.tabs.dirtyChanged.connect(self.setWindowModified)
        self.chat.notice.connect(self._notice)
        self.chat.statsChanged.connect(self._on_stats)
        self.chat.engineCrashed.connect(lambda message: self.banner.show_problem(message, crashed=True))
        self.chat.codeAction.connect(self._on_code_action)
        self.chat.attachFileRequested.connect(self.attach_current_file)
        # A bound method, not a lambda: Qt drops the connection when the window
        # is deleted, so a state the engine thread reports late cannot reach a dead label.
        self.bridge.stateChanged.connect(self._on_engine_state)
        self.models.modelReady.connect(self._on_model_ready)
        self.remote.modelReady.connect(self._on_model_ready)
        self.remote.notice.connect(self._notice)
        self.switcher.chosen.connect(self.use_profile)
        self.models.notice.connect(self._notice)
        self.models.recentChanged.connect(self._on_recent_models)
        self.models.thinkingSwitch.connect(self.chat.set_thinking_available)
        self.plugins.notice.connect(self._notice)
        self.project.notice.connect(self._notice)
        self.project.progress.connect(self._on_index_progress)
        self.project.filesChanged.connect(self.git.schedule_refresh)
        self.refs.notice.connect(self._notice)
        self.refs.progress.connect(self._on_index_progress)
        self.chat.busyChanged.connect(self._on_chat_busy)
        # The first update waits until the window has settled; later ones follow the environment.
        QTimer.singleShot(REFS_START_DELAY_MS, self._start_refs_update)
        self.git.notice.connect(self._notice)
        self.welcome.openModelRequested.connect(self.models.choose_file)
        self.welcome.openRecentRequested.connect(self.models.inspect)
        self.welcome.openFileRequested.connect(self.open_file_dialog)
        self.welcome.manageModelsRequested.connect(self.model_manager.show_dialog)
        self.welcome.starterRequested.connect(self.model_manager.use_starter)
        self.welcome.set_starter(self.model_manager.starter_description())
        self.model_manager.notice.connect(self._notice)
        self.bridge.modelLoaded.connect(self.model_manager.model_loaded)

    # -- notices, state ----------------------------------------------------

    def _notice(self, message: str | None) -> None:
        if message:
            self.statusBar().showMessage(message, 10_000)
            log.info("notice: %s", message)

    def _on_model_ready(self, name: str, context_length: int) -> None:
        self.model_label.setText(name or "No model")
        self.context_length = context_length
        self.chat.set_model_ready(bool(name))
        self.welcome.set_model(name)

    def _on_engine_state(self, state: str) -> None:
        self.state_label.setText(f"engine: {state}")

    def _on_stats(self, stats: Stats) -> None:
        used = stats.prompt_tokens + stats.completion_tokens
        total = getattr(self, "context_length", 0)
        self.context_meter.setValue(min(100, round(100 * used / total)) if total else 0)
        self.context_meter.setToolTip(
            f"{used:,} of {total:,} tokens used by the last exchange" if total else "The context length is not known"
        )
        self.speed_label.setText(
            f"{stats.decode_tokens_per_second:.1f} tok/s · prompt {stats.prompt_tokens_evaluated:,} evaluated"
            f" / {stats.prompt_tokens_reused:,} reused"
        )
        self.speed_label.setToolTip(
            "Prompt tokens evaluated for the last reply, and those reused from the engine's memory or a saved "
            f"state instead; generation threads: {stats.threads or 'n/a'}."
        )

    def _on_recent_models(self, recent: list[str]) -> None:
        self.settings.recent_models = recent
        self.save_settings()
        self.welcome.set_recent(recent)

    # -- files ---------------------------------------------------------------

    def _show_editor(self) -> None:
        self.centre.setCurrentWidget(self.tabs)

    def new_file(self) -> None:
        self._show_editor()
        self.tabs.new_file()

    def open_path(self, path: str) -> bool:
        """Open a text file in the editor (a .gguf goes to the model flow)."""
        if path.lower().endswith(".gguf"):
            self.models.inspect(path)
            return True
        opened = self.tabs.open_file(path)
        if opened:
            self._show_editor()
        return opened

    def open_file_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open file")
        if path:
            self.open_path(path)

    def open_folder(self, folder: str) -> None:
        """Make ``folder`` the project: its tree on the left, its index for the chat."""
        if self.tree.set_root(folder):
            self.tree_dock.setWindowTitle(f"Project — {Path(folder).name}")
            self.tree_dock.show()
            self.show_bottom_panels()
            self.project.open(folder)
            self.git.open(folder)
            self.refs.project = Path(folder)
            self.completion.root = Path(folder)
            if project_environments(Path(folder)):
                self.refs.start_update()  # the project's own environment joins the index

    def _on_chat_busy(self, busy: bool) -> None:
        # A model server decodes elsewhere: indexing can go on beside its replies.
        self.refs.hold_for_reply(busy and not self.remote.active)

    def _start_refs_update(self) -> None:
        if not getattr(self, "_shut_down", False):
            self.refs.start_update()

    def _on_index_progress(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def _editor_context(self) -> tuple[str | None, str | None, str | None, int | None]:
        """The current file, its unsaved text (None when saved), the selection and the cursor's line."""
        editor = self.tabs.current_editor()
        if editor is None:
            return None, None, None, None
        unsaved = editor.text() if editor.document().isModified() or not self.tabs.current_path() else None
        line, _column = editor.cursor_position()
        return self.tabs.current_path(), unsaved, self.tabs.selected_text() or None, line

    def _context_budget(self) -> int:
        """Project context per message, from the loaded model's context and tokenizer (see ``context_budget``)."""
        return context_budget(getattr(self, "context_length", 0), self.tokens_per_char)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder")
        if folder:
            self.open_folder(folder)

    def save_as_dialog(self) -> None:
        if self.tabs.current_editor() is not None:
            self.tabs.save_as()

    def _other_open_files(self) -> list[tuple[Path, str]]:
        """The files open in the other tabs, for inline completion's related files (first 64 KB each)."""
        current = self.tabs.current_editor()
        return [
            (Path(page.path), page.editor.toPlainText()[:65_536])
            for page in self.tabs.pages()
            if page.path and page.editor is not current
        ]

    def _on_current_file(self, path: str) -> None:
        # "[*]" is where Qt shows the unsaved-changes marker.
        self.setWindowTitle(f"{Path(path).name}[*] — Quillpad" if path else "Quillpad[*]")
        self.project.note_opened(path)
        editor = self.tabs.current_editor()
        if editor is not None:
            self.completion.attach(editor, path or None)
        else:
            self.completion.detach()

    # -- editor <-> chat -----------------------------------------------------

    def _on_selection_action(self, action: str, text: str, file_name: str) -> None:
        label = f"selection from {Path(file_name).name}" if file_name else "selection"
        language = Path(file_name).suffix.lstrip(".") if file_name else ""
        item = ContextItem("selection", label, text, language)
        self.chat_dock.show()
        if action == "explain":
            self.chat.ask(SELECTION_PROMPTS["explain"], item)
        else:
            self.chat.attach(item)
            self.chat.input.setPlainText(SELECTION_PROMPTS.get(action, ""))
            self.chat.input.setFocus()
            self.chat.input.moveCursor(self.chat.input.textCursor().MoveOperation.End)

    def attach_current_file(self) -> None:
        """Send the file open in the editor with the next message."""
        editor = self.tabs.current_editor()
        if editor is None:
            self._notice("Open a file in the editor first, then attach it.")
            return
        path = self.tabs.current_path() or ""
        name = Path(path).name if path else self.tabs.tabText(self.tabs.currentIndex()).rstrip(" •*")
        language = Path(path).suffix.lstrip(".") if path else ""
        self.chat.attach(ContextItem("file", name, editor.toPlainText(), language))

    def _on_code_action(self, action: str, block: CodeBlock) -> None:
        if action == "insert":
            if self.tabs.current_editor() is None:
                self._show_editor()
                self.tabs.new_file(block.code, language_hint=block.language or None)
            else:
                self.tabs.insert_at_cursor(block.code)
        elif action == "newfile":
            self._show_editor()
            self.tabs.new_file(block.code, language_hint=block.language or None)

    # -- settings and theme -----------------------------------------------------

    def save_settings(self) -> None:
        if self._settings_read_only:
            return
        try:
            save_settings(self.paths, self.settings)
        except OSError as err:
            self._notice(f"Settings could not be saved ({err.strerror}); check that the config folder is writable.")

    def set_theme(self, theme: ThemeName) -> None:
        self.settings.ui.theme = theme
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self.dark = apply_theme(app, theme)
        self._refresh_icons()
        self.chat.view.set_dark(self.dark)
        if hasattr(self.tabs, "set_dark"):
            self.tabs.set_dark(self.dark)
        self.save_settings()

    def open_settings(self) -> None:
        mcp_file = self.paths.config_dir / CONFIG_NAME
        try:
            mcp_text = mcp_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            mcp_text = ""
        project = self.project.project
        dialog = SettingsDialog(
            self.settings,
            self,
            keyed=self.remote.keyed_profiles(),
            plugin_pages=self.plugins.settings_pages(),
            project_root=Path(project.root) if project is not None else None,
            refs_status=self.refs.status,
            tool_rows=self._tool_rows(),
            mcp_text=mcp_text,
        )
        if dialog.exec():
            self.apply_settings(dialog.result_settings(), dialog.key_edits())
            if dialog.tools_page.mcp_text() != mcp_text:
                self._replace_mcp_config(mcp_file, dialog.tools_page.mcp_text())

    def _tool_rows(self) -> list[ToolRow]:
        """The plugins' tools, and the MCP tools of servers used so far (listing never starts one here)."""
        rows = [
            ToolRow(entry.tool.name, entry.source, entry.tool.acting, entry.tool.description)
            for entry in self.plugins.manager.registered_tools()
        ]
        rows += [
            ToolRow(info.qualified, f"mcp:{info.server}", True, info.description) for info in self.mcp.known_tools()
        ]
        return rows

    def _replace_mcp_config(self, path: Path, text: str) -> None:
        """Save ``mcp.json``; the running servers stop and the new ones start on first use."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as err:
            self._notice(f"mcp.json could not be saved ({err.strerror}); check the config folder's permissions.")
            return
        self.mcp.close()
        self.mcp = mcp_hub(self.paths, self._mcp_notice)

    def use_profile(self, name: str) -> None:
        """Switch to the connection profile ``name``: its server, or this computer's engine."""
        if name == self.settings.connections.active or self.settings.connections.profile(name) is None:
            return
        settings = self.settings.model_copy(deep=True)
        settings.connections.active = name
        self.apply_settings(settings)

    def apply_settings(self, settings: Settings, keys: KeyEdits | None = None) -> None:
        """Use new settings now; engine ones apply at the next model load, a server choice at once."""
        old = self.settings
        engine_changed = settings.engine.model_dump(exclude={"sampling", "thinking", "seed"}) != (
            self.settings.engine.model_dump(exclude={"sampling", "thinking", "seed"})
        )
        self.settings = settings
        self.tabs.set_font_size(settings.ui.editor_font_size)
        self.chat.thinking.setChecked(settings.engine.thinking)
        self.set_theme(settings.ui.theme)
        self.model_manager.settings_changed()
        if engine_changed and self.models.loaded_path:
            self._notice("Model settings changed: they apply when the model is next loaded (Model ▸ Restart engine).")
        self.switcher.refresh(settings.connections)
        self.remote.apply(old, settings, keys)
        self.completion.apply_settings(settings.completion)
        if settings.refs.enabled and (settings.refs.folders != old.refs.folders or not old.refs.enabled):
            self.refs.start_update()

    # -- drag and drop -----------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and all(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        for url in event.mimeData().urls():
            self.open_path(url.toLocalFile())
        event.acceptProposedAction()

    # -- bottom panels -----------------------------------------------------------

    def add_bottom_panel(self, widget: QWidget, title: str) -> None:
        """Add a panel (tests, problems, git) to the bottom area."""
        self.bottom_tabs.addTab(widget, title)
        # Collapsed until used: shown when a project opens or a panel is asked for, not at start.

    def show_bottom_panels(self) -> None:
        """Open the bottom area at about a quarter of the window's height (whatever height it had before)."""
        if not self.bottom_dock.isVisible():
            self.bottom_dock.show()
            self.resizeDocks([self.bottom_dock], [self.bottom_panel_height()], Qt.Orientation.Vertical)

    def bottom_panel_height(self) -> int:
        """A quarter of the window, at least what the current panel needs to be usable."""
        needed = self.bottom_tabs.currentWidget().minimumSizeHint().height() if self.bottom_tabs.count() else 0
        return max(BOTTOM_PANEL_MIN_HEIGHT, self.height() // 4, min(needed, self.height() // 3))

    def open_evaluation(self) -> EvaluatePanel:
        """The Evaluate panel at the bottom (created on first use)."""
        if self.evaluation is None:
            self.evaluation = EvaluatePanel(lambda: self.models.loaded_path, lambda: self.settings, self)
            self.add_bottom_panel(self.evaluation, "Evaluate")
        else:
            self.evaluation.refresh_connections()  # profiles may have changed in the settings
        self.bottom_tabs.setCurrentWidget(self.evaluation)
        self.show_bottom_panels()
        return self.evaluation

    # -- layout and lifetime -----------------------------------------------------

    @property
    def _layout_file(self) -> Path:
        return self.paths.config_dir / "window-state.json"

    def _restore_layout(self) -> None:
        try:
            data = json.loads(self._layout_file.read_text(encoding="utf-8"))
            self.restoreGeometry(QByteArray(base64.b64decode(data["geometry"])))
            self.restoreState(QByteArray(base64.b64decode(data["state"])))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # first start, or a damaged file: the default layout is fine
        # No project is open at start: its tree and the bottom panels stay closed until one is
        # (the saved state would bring them back at the size of the last session, e.g. the
        # Evaluate panel's ~40 % of the height, over an empty window).
        self.tree_dock.hide()
        self.bottom_dock.hide()

    def _save_layout(self) -> None:
        data = {
            "geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode(),
            "state": base64.b64encode(bytes(self.saveState().data())).decode(),
        }
        try:
            self._layout_file.parent.mkdir(parents=True, exist_ok=True)
            self._layout_file.write_text(json.dumps(data), encoding="utf-8")
        except OSError:
            log.warning("could not save the window layout to %s", self._layout_file)

    def _mcp_notice(self, message: str) -> None:
        """An MCP problem, from any thread: through the plugins' notifier, which queues to the GUI thread."""
        self.plugins.host.notifier.notify(message, "warning")

    def _agent_mode(self, job: AgentJob) -> AgentMode:
        project = self.project.project
        return agent_mode(
            self.plugins.manager,
            self.mcp,
            lambda: self.settings,
            project.root if project is not None else None,
            job.approve,
            job.review,
        )

    def _review_agent_edit(self, proposal: EditProposal) -> tuple[bool, str]:
        """The diff review every edit gets (checkpoint first); what the model is told afterwards."""
        applied: list[str] = []
        self.plugins.review_and_apply(proposal, applied.extend)
        if applied:
            return True, "The user accepted the edit; changed: " + ", ".join(applied) + "."
        return False, "The user did not accept the edit; nothing was written."

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.tabs.maybe_close_all():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Save what needs saving and stop the engine (idempotent)."""
        if getattr(self, "_shut_down", False):
            return
        self._shut_down = True
        self._save_layout()
        if self.evaluation is not None:
            self.evaluation.shutdown()
        self.plugins.shutdown()
        self.chat.shutdown()
        self.mcp.close()
        self.chat.view.dispose()
        self.models.shutdown()
        self.model_manager.shutdown()
        self.project.shutdown()
        self.completion.shutdown()
        self.refs.shutdown()
        self.git.shutdown()
        self.bridge.shutdown()
        with contextlib.suppress(QuillpadError):
            self.store.close()
