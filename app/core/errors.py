"""Errors that carry a message fit to show a user as it is."""

from __future__ import annotations


class QuillpadError(Exception):
    """An expected failure with a one-sentence message for the user.

    The message says what is wrong and what to do; callers show ``str(err)``
    and never a traceback.
    """


class ModelFileError(QuillpadError):
    """A model file that cannot be used (missing, damaged, unsupported)."""
