"""The project context that goes with a chat message, as attachments.

The window and ``quillpad chat --project DIR`` both use this: the same
budget rule, the same assembler (``Project.assemble_context``), the same
attachments, so a message carries the same project context from either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from app.core.conversations import Attachment
from app.core.engine.events import RenderedPrompt
from app.core.engine.options import ChatMessage, ChatRequest
from app.core.errors import QuillpadError
from app.core.project import CHARS_PER_TOKEN, AssembledContext, Project

# (path of the current file, its unsaved text, the selected text, the cursor's line); all None without an editor.
EditorState = tuple[str | None, str | None, str | None, int | None]


TOKENIZER_SAMPLE = (
    "def total_price(items: list[Item]) -> float:\n"
    '    """Sum the prices, with VAT at 20%."""\n'
    "    return sum(item.price * 1.2 for item in items)\n\n"
    "The function adds up every item's price and applies the tax once. "
    "For a basket of 3 items costing 2.50, 4.00 and 10.25, it returns 20.10.\n"
)


def measure_tokens_per_char(render: Callable[[ChatRequest], RenderedPrompt]) -> float | None:
    """The loaded model's tokens per character on mixed code and prose, so context budgets counted
    with a cheap estimate still fit this model's context (None when it cannot be measured)."""
    try:
        sample = render(ChatRequest((ChatMessage("user", TOKENIZER_SAMPLE),))).tokens
        base = render(ChatRequest((ChatMessage("user", "x"),))).tokens
    except QuillpadError:
        return None
    return max(0.05, (sample - base) / max(1, len(TOKENIZER_SAMPLE) - 1))


def context_budget(context_length: int, tokens_per_char: float = 1 / CHARS_PER_TOKEN) -> int:
    """Project context per message: a third of the context (at most 4,096 tokens).

    The project counts tokens by an estimate (3.5 characters each); a
    tokenizer that needs more tokens per character gets a smaller budget in
    estimated tokens, so the real count still fits.
    """
    real = min(4096, max(512, context_length // 3)) if context_length else 2048
    return max(128, int(real / max(1.0, CHARS_PER_TOKEN * tokens_per_char)))


def project_attachments(assembled: AssembledContext | None, removed: Iterable[str] = ()) -> tuple[Attachment, ...]:
    """The assembled context as attachments: its header first, then one per item (each a chip),
    without the items the user took off. Joined by blank lines they are exactly ``assembled.render()``."""
    if assembled is None:
        return ()
    for label in removed:
        assembled = assembled.without(label)
    if not assembled.items:
        return ()
    header = Attachment("project", "Project context", assembled.header, rendered=assembled.header, from_project=True)
    items = tuple(
        Attachment(item.kind, item.label, item.text, rendered=item.render(), from_project=True, why=item.why)
        for item in assembled.items
    )
    return (header, *items)


class ProjectContextSource:
    """Assembles the context for a message from an open ``Project``.

    ``editor`` says what is being edited (the window's current tab; nothing
    for the CLI), ``budget`` how many tokens the context may take.
    """

    def __init__(
        self,
        project: Callable[[], Project | None],
        budget: Callable[[], int],
        editor: Callable[[], EditorState] = lambda: (None, None, None, None),
        notify: Callable[[str], None] = lambda message: None,
    ) -> None:
        self._project = project
        self._budget = budget
        self._editor = editor
        self._notify = notify

    def __call__(self, message: str) -> AssembledContext | None:
        """What goes with ``message``; None without a project (a failure is a notice, not an error)."""
        return self.prepare(message)()

    def prepare(self, message: str) -> Callable[[], AssembledContext | None]:
        """Read the editor now (the GUI thread) and return the retrieval, which may run on any thread."""
        project = self._project()
        if project is None or not message.strip() or message.startswith("/"):
            return lambda: None
        path, text, selection, cursor_line = self._editor()
        budget = self._budget()
        return lambda: self._assemble(project, message, path, text, selection, cursor_line, budget)

    def _assemble(
        self,
        project: Project,
        message: str,
        path: str | None,
        text: str | None,
        selection: str | None,
        cursor_line: int | None,
        budget: int,
    ) -> AssembledContext | None:
        try:
            return project.assemble_context(
                message,
                current_file=path,
                current_text=text,
                selection=selection or None,
                budget_tokens=budget,
                cursor_line=cursor_line,
            )
        except QuillpadError as err:
            self._notify(str(err))
            return None

    def message_sent(self) -> None:
        """Start a new "changed since your last message" window."""
        project = self._project()
        if project is not None:
            project.mark_message_sent()
