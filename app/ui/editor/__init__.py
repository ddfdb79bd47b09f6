"""The editor pane: tabs of code editors with highlighting, find/replace, atomic saves and drafts."""

from app.ui.editor.code_editor import CodeEditor
from app.ui.editor.find_replace import FindReplaceBar
from app.ui.editor.folder_view import FolderView
from app.ui.editor.highlighter import PygmentsHighlighter
from app.ui.editor.tabs import EditorTabs

__all__ = ["CodeEditor", "EditorTabs", "FindReplaceBar", "FolderView", "PygmentsHighlighter"]
