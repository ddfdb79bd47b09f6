"""Project context: ignore rules, an incremental index with full-text search, outlines, a file watcher, and
the assembly of what is attached to each message. No Qt here; ``Project`` is the entry point."""

from __future__ import annotations

from app.core.project.errors import InvalidQueryError, ProjectError, ProjectFolderError
from app.core.project.index import SearchHit
from app.core.project.mentions import Mention
from app.core.project.project import DEFAULT_MAX_FILE_BYTES, IndexStats, Project, project_index_path
from app.core.project.retrieval import AssembledContext, ContextItem
from app.core.project.symbols import Symbol
from app.core.project.tokens import CHARS_PER_TOKEN, estimate_tokens

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_MAX_FILE_BYTES",
    "AssembledContext",
    "ContextItem",
    "IndexStats",
    "InvalidQueryError",
    "Mention",
    "Project",
    "ProjectError",
    "ProjectFolderError",
    "SearchHit",
    "Symbol",
    "estimate_tokens",
    "project_index_path",
]
