"""The real engine as a ``ModelClient``, and reading an answer from events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from app.core.edits.thinking import strip_thinking
from app.core.engine.backend import ChatBackend
from app.core.engine.client import EngineState
from app.core.engine.events import AnswerText, Done, EngineError, EngineEvent
from app.core.engine.options import ChatMessage, ChatRequest, SamplingOverrides
from app.core.errors import QuillpadError
from app.core.plugins.contributions import AskOptions


class ModelReplyError(QuillpadError):
    """The model's reply failed; the message is the engine's."""


def answer_from_events(events: Iterable[EngineEvent]) -> str:
    """The answer a stream of events carries, without thinking.

    Raises ``ModelReplyError`` when the stream ends with an ``EngineError``.
    """
    pieces: list[str] = []
    for event in events:
        if isinstance(event, AnswerText):
            pieces.append(event.text)
        elif isinstance(event, Done):
            return strip_thinking(event.answer or "".join(pieces))
        elif isinstance(event, EngineError):
            raise ModelReplyError(event.message)
    return strip_thinking("".join(pieces))


class EngineModelClient:
    """Asks the app's ``Engine`` (or any ``ChatBackend``: a model server);
    blocking, so call it off the GUI thread.

    ``thinking``, ``seed`` and ``sampling`` are the user's defaults, used when
    the request leaves them open. ``AskOptions.grammar`` constrains the output.
    """

    supports_grammar = True

    def __init__(
        self,
        engine: ChatBackend,
        *,
        thinking: bool | None = None,
        seed: int | None = None,
        sampling: SamplingOverrides | None = None,
    ) -> None:
        self.engine = engine
        self.thinking = thinking
        self.seed = seed
        self.sampling = sampling or SamplingOverrides()

    def ready(self) -> bool:
        # READY means a model is loaded (the engine) or the server answered (remote).
        return self.engine.state == EngineState.READY

    def stream(self, messages: Sequence[ChatMessage], options: AskOptions) -> Iterator[EngineEvent]:
        request = ChatRequest(
            tuple(messages),
            thinking=self.thinking if options.thinking is None else options.thinking,
            max_tokens=options.max_tokens,
            seed=self.seed if options.seed is None else options.seed,
            sampling=self.sampling,
            grammar=options.grammar,
        )
        return self.engine.chat(request)

    def ask(self, messages: Sequence[ChatMessage], options: AskOptions) -> str:
        return answer_from_events(self.stream(messages, options))

    def stop(self) -> None:
        self.engine.stop()
