"""Running one tool call: look-up, argument check, time limit, Stop, result size.

Every way a call can go wrong ends as a ``ToolOutcome`` with ``ok=False`` and
one sentence for the model and the user; the run goes on. A tool runs on its
own thread so the time limit and Stop are kept whatever it does: both set its
``CancelToken`` (which subprocess-based tools pass to their runner, so the
child process ends too); a tool that ignores the token is left to finish
alone and its late result is dropped.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from app.core.edits.proposal import EditProposal
from app.core.errors import QuillpadError
from app.core.plugins.background import Cancelled, CancelToken
from app.core.toolcalls.parser import ToolCall
from app.core.toolcalls.registry import RegisteredTool, ToolRegistry
from app.core.toolcalls.tools import ToolInvocation, ToolResult

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
MAX_RESULT_CHARS = 24_000  # what one result may add to the conversation


@dataclass(frozen=True)
class ToolOutcome:
    """How a call went: the text the model gets back, and any edits proposed."""

    text: str
    ok: bool
    proposal: EditProposal | None = None
    full_size: int = 0  # characters before truncation
    stopped: bool = False


def truncated(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """``text`` cut to ``limit`` characters with a note saying so."""
    if len(text) <= limit:
        return text
    return (
        text[:limit] + f"\n[The result was {len(text):,} characters; only the first {limit:,} are shown. Ask for less.]"
    )


def check_arguments(entry: RegisteredTool, arguments: dict[str, Any]) -> str | None:
    """What is wrong with ``arguments`` for the tool's schema (None: they fit)."""
    schema = dict(entry.tool.parameters)
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(arguments))
    except jsonschema.exceptions.SchemaError:
        return None  # the tool's own schema is broken: let the tool judge its arguments
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


class ToolExecutor:
    """Runs calls against one registry."""

    def __init__(
        self, registry: ToolRegistry, project: Path | None = None, default_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self.registry = registry
        self.project = project
        self.default_timeout = default_timeout

    def lookup(self, call: ToolCall) -> RegisteredTool | str:
        """The tool ``call`` names, or the sentence saying it does not exist or does not fit."""
        entry = self.registry.find(call.name)
        if entry is None:
            names = ", ".join(sorted(e.tool.name for e in self.registry.active())) or "none"
            return f"There is no tool called {call.name!r}; the tools are: {names}."
        problem = check_arguments(entry, call.arguments)
        if problem is not None:
            return f"The arguments for {call.name} do not fit its schema ({problem}); call it again with valid ones."
        return entry

    def run(self, call: ToolCall, entry: RegisteredTool, stop: CancelToken) -> ToolOutcome:
        """Run ``call`` until it returns, its time limit passes or ``stop`` is set."""
        limit = entry.tool.timeout if entry.tool.timeout is not None else self.default_timeout
        token = CancelToken()
        box: list[ToolResult | str | BaseException] = []
        finished = threading.Event()
        invocation = ToolInvocation(call.arguments, token, entry.context, self.project)

        def work() -> None:
            try:
                box.append(entry.tool.run(invocation))
            except BaseException as err:  # reported below, on the run's thread
                box.append(err)
            finally:
                finished.set()

        thread = threading.Thread(target=work, name=f"tool {call.name}", daemon=True)
        thread.start()
        waited = 0.0
        step = 0.05
        while not finished.wait(step):
            waited += step
            if stop.cancelled:
                token.cancel()
                finished.wait(2.0)  # a tool watching its token ends its children promptly
                return ToolOutcome("Stopped by the user.", ok=False, stopped=True)
            if waited >= limit:
                token.cancel()
                finished.wait(2.0)
                return ToolOutcome(f"{call.name} took longer than {limit:g} s and was stopped.", ok=False)
        result = box[0]
        if isinstance(result, Cancelled):
            return ToolOutcome("Stopped by the user.", ok=False, stopped=True)
        if isinstance(result, QuillpadError):
            return ToolOutcome(f"{call.name} failed: {result}", ok=False)
        if isinstance(result, BaseException):
            log.warning("tool %s raised", call.name, exc_info=result)
            return ToolOutcome(f"{call.name} failed ({type(result).__name__}: {result}).", ok=False)
        if isinstance(result, str):
            result = ToolResult(result)
        if not isinstance(result, ToolResult):
            return ToolOutcome(f"{call.name} returned {type(result).__name__}, not text.", ok=False)
        return ToolOutcome(truncated(result.text), ok=True, proposal=result.proposal, full_size=len(result.text))
