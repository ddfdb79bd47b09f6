"""Refusals of the project-context layer, each a one-sentence message for the user."""

from __future__ import annotations

from app.core.errors import QuillpadError


class ProjectError(QuillpadError):
    """A project folder or its index cannot be used as asked."""


class ProjectFolderError(ProjectError):
    """The project folder is missing, not a folder, or cannot be read."""


class InvalidQueryError(ProjectError):
    """A search or context request that cannot be answered as given (empty query, bad budget)."""
