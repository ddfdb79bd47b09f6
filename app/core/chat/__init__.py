"""The chat flow, once, without Qt: ``ChatSession`` and carrying out plugin results.

``session.py`` is one conversation (compose, persist, build the request,
stream, stop, regenerate, edit the last message); ``commands.py`` carries out
a plugin's ``CommandResult`` on a front-end's ``ResultSurface``;
``project_context.py`` turns the open project into attachments. The chat
panel and ``quillpad chat`` are thin adapters over these.
"""

from app.core.chat.commands import ChatOutcome, ResultRunner, ResultSurface, run_command, run_result, settled
from app.core.chat.session import ChatSession, Finished, Reply, Update, model_text
from app.core.conversations import Attachment

__all__ = [
    "Attachment",
    "ChatOutcome",
    "ChatSession",
    "Finished",
    "Reply",
    "ResultRunner",
    "ResultSurface",
    "Update",
    "model_text",
    "run_command",
    "run_result",
    "settled",
]
