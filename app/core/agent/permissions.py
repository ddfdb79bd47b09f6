"""Who lets an acting tool run: the user's answer, or the CLI's ``--allow`` list.

Read-only tools run at once. An acting tool waits for a ``Decision`` from the
front-end's ``Approver``: Allow (this call), Allow for this chat (this tool,
until the conversation changes) or Deny. ``ApprovalGate`` is the hand-over for
a front-end whose user answers on another thread (the window): the run's
thread waits in ``ask`` — Stop ends the wait — and the GUI calls ``answer``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from app.core.plugins.background import CancelToken

Decision = Literal["allow", "allow_chat", "deny"]


@dataclass(frozen=True)
class ApprovalRequest:
    """What the user is asked about."""

    tool: str
    label: str
    description: str
    arguments: dict[str, Any]
    source: str  # the plugin or "mcp:SERVER"


Approver = Callable[[ApprovalRequest, CancelToken], Decision]


def allow_list(names: Iterable[str]) -> Approver:
    """An approver that allows the named tools and denies the rest (``--allow`` in the CLI)."""
    allowed = frozenset(names)

    def decide(request: ApprovalRequest, _stop: CancelToken) -> Decision:
        return "allow" if request.tool in allowed else "deny"

    return decide


class ApprovalGate:
    """Hands one question at a time from the run's thread to the user and the answer back."""

    def __init__(self, on_question: Callable[[ApprovalRequest], None]) -> None:
        self._on_question = on_question
        self._answered = threading.Event()
        self._decision: Decision = "deny"

    def ask(self, request: ApprovalRequest, stop: CancelToken) -> Decision:
        """Show ``request`` and wait for ``answer`` (Stop answers Deny)."""
        self._answered.clear()
        self._on_question(request)
        while not self._answered.wait(0.05):
            if stop.cancelled:
                return "deny"
        return self._decision

    def answer(self, decision: Decision) -> None:
        """The user's decision; callable from any thread."""
        self._decision = decision
        self._answered.set()
