"""Edits proposed by a model: parsing, paths, applying, diffs, safety, grammar.

``parser`` reads search/replace and whole-file blocks from a reply,
``paths`` keeps them inside the project, ``apply`` applies one block to a
text, ``diff`` splits a change into hunks to accept or reject, ``safety``
scans generated Python with bandit, ``proposal`` puts these together for
review and ``commit`` applies what the user accepted. ``document`` defines
what an editor looks like to all of this.
"""

from app.core.edits.apply import ApplyResult, apply_block
from app.core.edits.commit import AppliedChange, StaleEditError, apply_proposal
from app.core.edits.diff import DiffLine, Hunk, TextDiff
from app.core.edits.document import Document, Editor, MemoryDocument, MemoryEditor, Selection
from app.core.edits.grammar import edit_grammar
from app.core.edits.parser import CodeFence, EditBlock, ParseResult, parse_edits
from app.core.edits.paths import ProjectPath, UnsafePathError, resolve_project_path
from app.core.edits.proposal import EditProposal, EditTarget, FileChange, build_edit_proposal, replacement_proposal
from app.core.edits.safety import Finding, SafetyReport, scan_python
from app.core.edits.thinking import strip_thinking

__all__ = [
    "AppliedChange",
    "ApplyResult",
    "CodeFence",
    "DiffLine",
    "Document",
    "EditBlock",
    "EditProposal",
    "EditTarget",
    "Editor",
    "FileChange",
    "Finding",
    "Hunk",
    "MemoryDocument",
    "MemoryEditor",
    "ParseResult",
    "ProjectPath",
    "SafetyReport",
    "Selection",
    "StaleEditError",
    "TextDiff",
    "UnsafePathError",
    "apply_block",
    "apply_proposal",
    "build_edit_proposal",
    "edit_grammar",
    "parse_edits",
    "replacement_proposal",
    "resolve_project_path",
    "scan_python",
    "strip_thinking",
]
