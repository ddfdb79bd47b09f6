"""/gen, /explain and /edit, and the editor actions that share their handlers.

Each handler captures the document, builds the prompt and returns a
``ModelTurn``; the follow-up reads the finished answer (thinking already
removed) and proposes edits for the user's review. Nothing is applied here.
"""

from __future__ import annotations

from functools import partial

from app.api import (
    AskOptions,
    CommandInvocation,
    CommandResult,
    EditProposal,
    EditTarget,
    ModelTurn,
    ParseResult,
    PluginContext,
    QuillpadError,
    build_edit_proposal,
    edit_grammar,
    parse_edits,
    replacement_proposal,
)
from plugins.codegen import prompts
from plugins.codegen.source import CURSOR_MARK, Snapshot, fit_indentation

DEFAULT_FILE_CHARS = 24_000
DEFAULT_PROJECT_CHARS = 6_000
NO_DOCUMENT = "Open a file (or a new document) first; {what} works on the editor's current document."


def _options(context: PluginContext) -> AskOptions:
    max_tokens = context.settings.get("max_tokens")
    return AskOptions(max_tokens=int(max_tokens) if max_tokens else None)


def _limits(context: PluginContext) -> tuple[int, int]:
    file_chars = context.settings.get("max_file_chars", DEFAULT_FILE_CHARS)
    project_chars = context.settings.get("max_project_chars", DEFAULT_PROJECT_CHARS)
    return int(file_chars), int(project_chars)


def _project_context(context: PluginContext, query: str, max_chars: int) -> str:
    project = context.project
    if project is None or max_chars <= 0:
        return ""
    try:
        return project.assemble_context(query, max_chars)
    except QuillpadError as err:
        context.notify(str(err), "warning")
        return ""


def _snapshot(context: PluginContext, what: str) -> Snapshot | CommandResult:
    document = context.current_document()
    if document is None:
        return CommandResult(message=NO_DOCUMENT.format(what=what))
    return Snapshot.take(context, document)


def _notes(lines: tuple[str, ...] | list[str]) -> str:
    return "".join(f"\n- {line}" for line in lines)


# -- /gen -------------------------------------------------------------------


def generate(invocation: CommandInvocation) -> CommandResult:
    """Write code at the cursor from an instruction."""
    instruction = invocation.args.strip()
    if not instruction:
        return CommandResult(message="Say what to write, for example `/gen a function that parses ISO dates`.")
    context = invocation.context
    snapshot = _snapshot(context, "/gen")
    if isinstance(snapshot, CommandResult):
        return snapshot
    file_chars, project_chars = _limits(context)
    messages = prompts.gen_messages(
        snapshot, instruction, _project_context(context, instruction, project_chars), file_chars
    )
    title = f"Writing code at line {snapshot.line_of(snapshot.cursor)} of {snapshot.label}"
    return CommandResult(ask=ModelTurn(messages, _options(context), title, partial(generated, context, snapshot)))


def _first_code(parsed: ParseResult) -> str | None:
    candidates = [(fence.line, fence.text) for fence in parsed.code]
    candidates += [(block.line, "\n".join(block.replace)) for block in parsed.blocks if block.whole_file]
    candidates = [item for item in candidates if item[1].strip()]
    return min(candidates)[1] if candidates else None


def generated(context: PluginContext, snapshot: Snapshot, answer: str) -> CommandResult:
    """Turn /gen's answer into an insertion proposal (or edits, if it wrote edit blocks)."""
    parsed = parse_edits(answer)
    if any(not block.whole_file for block in parsed.blocks):
        return _proposal_result(_edit_proposal(context, snapshot, parsed), parsed)
    code = _first_code(parsed)
    if code is None:
        return CommandResult(message="The reply had no code block, so nothing was inserted. Try /gen again.")
    if not snapshot.unchanged():
        return CommandResult(message=f"{snapshot.label} changed while the model was writing; run /gen again.")
    code = code.replace(CURSOR_MARK, "")
    line_start = snapshot.text.rfind("\n", 0, snapshot.cursor) + 1
    code = fit_indentation(code, snapshot.text[line_start : snapshot.cursor])
    proposal = replacement_proposal(
        snapshot.document,
        snapshot.cursor,
        snapshot.cursor,
        code,
        root=snapshot.root,
        python=snapshot.language == "python" or None,
    )
    return _proposal_result(proposal, parsed)


# -- /explain ---------------------------------------------------------------


def explain(invocation: CommandInvocation) -> CommandResult:
    """Explain the selection, or the whole file when nothing is selected."""
    context = invocation.context
    snapshot = _snapshot(context, "/explain")
    if isinstance(snapshot, CommandResult):
        return snapshot
    if not snapshot.text.strip():
        return CommandResult(message=f"{snapshot.label} is empty; there is nothing to explain.")
    file_chars, project_chars = _limits(context)
    query = invocation.args.strip() or snapshot.selection.text or snapshot.label
    messages = prompts.explain_messages(
        snapshot, invocation.args.strip(), _project_context(context, query, project_chars), file_chars
    )
    what = "the selection" if not snapshot.selection.empty else snapshot.label
    return CommandResult(ask=ModelTurn(messages, _options(context), f"Explaining {what}"))


# -- /edit ------------------------------------------------------------------


def edit(invocation: CommandInvocation, whole_file: bool = False) -> CommandResult:
    """Edit the selection (or the file) from an instruction, as search/replace blocks."""
    instruction = invocation.args.strip()
    if not instruction:
        return CommandResult(message="Say what to change, for example `/edit add type hints`.")
    context = invocation.context
    snapshot = _snapshot(context, "/edit")
    if isinstance(snapshot, CommandResult):
        return snapshot
    whole_file = whole_file or snapshot.selection.empty
    file_chars, project_chars = _limits(context)
    messages = prompts.edit_messages(
        snapshot, instruction, _project_context(context, instruction, project_chars), file_chars, whole_file
    )
    options = _options(context)
    if context.settings.get("constrain_output", False) and context.model is not None and context.model.supports_grammar:
        # A grammar binds the thinking too, so the model answers straight away.
        options = AskOptions(thinking=False, max_tokens=options.max_tokens, grammar=edit_grammar())
    what = snapshot.label
    if not whole_file:
        selection = snapshot.selection
        first, last = snapshot.line_of(selection.start), snapshot.line_of(max(selection.start, selection.end - 1))
        what = f"lines {first}–{last} of {snapshot.label}"
    return CommandResult(
        ask=ModelTurn(messages, options, f"Editing {what}", partial(edited, context, snapshot, whole_file))
    )


def _edit_proposal(context: PluginContext, snapshot: Snapshot, parsed: ParseResult) -> EditProposal:
    target = EditTarget(snapshot.document, snapshot.root, snapshot.known_files, snapshot.selection)
    return build_edit_proposal(parsed, target, context.editor)


def edited(context: PluginContext, snapshot: Snapshot, whole_file: bool, answer: str) -> CommandResult:
    """Turn /edit's answer into a proposal for the diff preview."""
    parsed = parse_edits(answer)
    if parsed.blocks:
        return _proposal_result(_edit_proposal(context, snapshot, parsed), parsed)
    # Small models often answer with just the new code; take it when it is unambiguous.
    code = [fence.text for fence in parsed.code if fence.text.strip()]
    if len(code) == 1 and snapshot.unchanged():
        selection = snapshot.selection
        if not whole_file and not selection.empty:
            note = "The reply gave only new code, so it replaces the selection."
            proposal = replacement_proposal(
                snapshot.document,
                selection.start,
                selection.end,
                _match_ending(code[0], selection.text),
                root=snapshot.root,
                note=note,
                python=snapshot.language == "python" or None,
            )
            return _proposal_result(proposal, parsed)
        if whole_file and len(code[0].splitlines()) >= max(1, len(snapshot.text.splitlines()) // 2):
            note = "The reply gave the whole file rather than edits; it replaces the file."
            proposal = replacement_proposal(
                snapshot.document,
                0,
                len(snapshot.text),
                _match_ending(code[0], snapshot.text),
                root=snapshot.root,
                note=note,
                python=snapshot.language == "python" or None,
            )
            return _proposal_result(proposal, parsed)
    return CommandResult(
        message="The reply contained no edits that could be used, so nothing changed. "
        "Try a more specific instruction." + _notes(parsed.notes)
    )


def _match_ending(code: str, replaced: str) -> str:
    """Keep the replaced text's final newline (fenced code never has one)."""
    return code + "\n" if replaced.endswith("\n") and not code.endswith("\n") else code


def _proposal_result(proposal: EditProposal, parsed: ParseResult) -> CommandResult:
    """The chat message for a proposal: a summary, safety flags and every note, once."""
    notes = list(dict.fromkeys([*parsed.notes, *proposal.notes]))
    if proposal.empty:
        return CommandResult(message="None of the proposed edits could be used, so nothing changed." + _notes(notes))
    risky = sum(len(change.findings()) for change in proposal.changes)
    lines = ["Proposed changes (review them before applying):", proposal.summary()]
    if risky:
        lines.append(f"The safety scan flags {risky} risky call(s) in the new code; see the preview.")
    for change in proposal.changes:
        notes.extend(f"{change.key}: {note}" for note in change.notes)
    return CommandResult(message="\n".join(lines) + _notes(notes), proposal=proposal)
