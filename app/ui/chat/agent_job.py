"""Runs one agent-mode message (``app.core.agent.run.AgentRun``) off the GUI thread.

The job reports plain data through signals: the model's events in batches
(at most about 20 a second, so a fast model does not flood the event loop),
each tool step, a question for the user (Allow / Allow for this chat / Deny)
and an edit to review, and the end. Questions and reviews wait on the job's
thread until the GUI answers (``answer``/``reviewed``); Stop ends the wait.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from PySide6.QtCore import QObject, Signal

from app.core.agent.permissions import ApprovalGate, ApprovalRequest, Decision
from app.core.agent.run import AgentEnded, AgentMode, AgentRun, ToolStep
from app.core.chat import ChatSession
from app.core.conversations import Attachment
from app.core.edits.proposal import EditProposal
from app.core.engine import EngineEvent
from app.core.errors import QuillpadError
from app.core.plugins.background import CancelToken

log = logging.getLogger(__name__)
BATCH_SECONDS = 0.05


class AgentSignals(QObject):
    events = Signal(int, list)  # assistant message id, [EngineEvent]
    step = Signal(object)  # ToolStep
    question = Signal(object)  # ApprovalRequest
    review = Signal(object)  # EditProposal
    ended = Signal(object)  # AgentEnded


class AgentJob:
    """One message in agent mode; ``mode`` is built with this job's ``approve`` and ``review``."""

    def __init__(self, session: ChatSession, text: str, attachments: Sequence[Attachment] = ()) -> None:
        self.session = session
        self.text = text
        self.attachments = tuple(attachments)
        self.signals = AgentSignals()
        self.gate = ApprovalGate(self.signals.question.emit)
        self._reviewed = threading.Event()
        self._review: tuple[bool, str] = (False, "The user closed the review; nothing was written.")
        self.run_: AgentRun | None = None

    # -- what the mode calls, on the job's thread ---------------------------------

    def approve(self, request: ApprovalRequest, stop: CancelToken) -> Decision:
        return self.gate.ask(request, stop)

    def review(self, proposal: EditProposal) -> tuple[bool, str]:
        self._reviewed.clear()
        self.signals.review.emit(proposal)
        while not self._reviewed.wait(0.05):
            if self.run_ is not None and self.run_.token.cancelled:
                return False, "Stopped before the user reviewed the edit; nothing was written."
        return self._review

    # -- what the GUI calls ----------------------------------------------------------

    def answer(self, decision: Decision) -> None:
        self.gate.answer(decision)

    def reviewed(self, accepted: bool, note: str) -> None:
        self._review = (accepted, note)
        self._reviewed.set()

    def stop(self) -> None:
        if self.run_ is not None:
            self.run_.stop()

    def start_with(self, mode: AgentMode) -> None:
        self.run_ = AgentRun(self.session, mode)

    # -- the thread ----------------------------------------------------------------------

    def run(self) -> None:
        assert self.run_ is not None, "start_with(mode) first"
        batch: list[EngineEvent] = []
        batch_id = -1
        last = time.monotonic()

        def flush() -> None:
            nonlocal batch, last
            if batch:
                self.signals.events.emit(batch_id, batch)
                batch = []
            last = time.monotonic()

        try:
            for event in self.run_.run(self.text, self.attachments):
                if isinstance(event, ToolStep):
                    flush()
                    self.signals.step.emit(event)
                elif isinstance(event, AgentEnded):
                    flush()
                    self.signals.ended.emit(event)
                    return
                else:
                    reply = self.session.reply
                    message_id = reply.message_id if reply is not None else batch_id
                    if message_id != batch_id:
                        flush()
                        batch_id = message_id
                    batch.append(event)
                    if time.monotonic() - last >= BATCH_SECONDS:
                        flush()
        except QuillpadError as err:
            flush()
            self.signals.ended.emit(AgentEnded("error", str(err)))
        except Exception as err:  # a bug: logged, one sentence shown
            log.exception("agent run failed")
            flush()
            self.signals.ended.emit(AgentEnded("error", f"The agent run failed unexpectedly ({err}); see the log."))
