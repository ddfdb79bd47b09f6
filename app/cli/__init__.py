"""The ``quillpad`` command: ``entry`` builds the parser and runs a command; every
other module is one command group, named after its command (``chat``, ``git``,
``math``…), with an ``add_parser`` and its handlers; ``common`` holds what they share.

Run it as ``quillpad`` or ``python -m app``, never as a script inside this
folder: the modules named after commands would hide the standard library's.
"""

from app.cli.entry import main

__all__ = ["main"]
