"""Code referencing for proposed edits: matches on the lines an edit adds."""

from __future__ import annotations

from collections.abc import Callable

from app.core.edits.proposal import EditProposal, FileChange
from app.core.refs.matcher import RefMatch

# (text, file name) -> matches; RefIndex.check with the user's exclusions and minimum bound in.
CheckCode = Callable[[str, str], list[RefMatch]]


def change_matches(check: CheckCode, change: FileChange) -> list[RefMatch]:
    """Matches of the proposed file that cover lines the change adds (old code is not news)."""
    added = change.added_lines()
    if not added:
        return []
    matches = check(change.proposed, change.key)
    return [m for m in matches if any(line in added for line in range(m.lines[0], m.lines[1] + 1))]


def proposal_matches(check: CheckCode, proposal: EditProposal) -> list[tuple[str, RefMatch]]:
    """(file key, match) for every file of a proposal, in order."""
    return [(change.key, match) for change in proposal for match in change_matches(check, change)]
