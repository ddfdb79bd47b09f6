"""The ``quillpad`` command: one module per command group, the entry point in ``entry``."""

from app.cli.entry import main

__all__ = ["main"]
