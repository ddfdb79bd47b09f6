"""Issue 26 problem 5: an edit keeps the file's newlines, final newline and PEP 8 blank lines."""

from __future__ import annotations

from pathlib import Path

from app.core.edits import parse_edits
from app.core.edits.conventions import conform, newline_of
from app.core.edits.document import MemoryDocument
from app.core.edits.proposal import EditTarget, build_edit_proposal, replacement_proposal

FILE = 'import os\n\n\ndef home():\n    return os.environ["HOME"]\n'
NEW_FUNCTION = "def reverse(text):\n    return text[::-1]"


def test_gen_at_the_end_adds_two_blank_lines_and_keeps_the_final_newline() -> None:
    """The report: /gen put a function right under the last one and dropped the final newline."""
    document = MemoryDocument(FILE, Path("/p/m.py"))
    proposal = replacement_proposal(document, len(FILE), len(FILE), NEW_FUNCTION, python=True)
    (change,) = proposal.changes
    assert change.proposed == FILE + "\n\n" + NEW_FUNCTION + "\n"
    assert "No newline at end of file" not in change.diff.unified()


def test_an_insertion_between_two_functions_gets_two_blank_lines_each_side() -> None:
    text = "def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    at = text.index("\n\ndef b") + 1
    document = MemoryDocument(text, Path("/p/m.py"))
    (change,) = replacement_proposal(document, at, at, NEW_FUNCTION + "\n", python=True).changes
    assert change.proposed == "def a():\n    return 1\n\n\n" + NEW_FUNCTION + "\n\n\ndef b():\n    return 2\n"


def test_a_method_gets_one_blank_line() -> None:
    text = "class A:\n    def f(self):\n        return 1\n"
    proposed = text + "    def g(self):\n        return 2\n"
    assert conform(text, proposed, python=True) == text + "\n    def g(self):\n        return 2\n"


def test_only_the_touched_places_change() -> None:
    """Someone else's tight spacing elsewhere in the file is not the edit's business."""
    text = "def a():\n    pass\ndef b():\n    pass\n"
    proposed = text + "x = 1\n"
    assert conform(text, proposed, python=True) == text + "\n\nx = 1\n"


def test_crlf_files_stay_crlf_and_a_file_without_final_newline_stays_so() -> None:
    crlf = "a = 1\r\nb = 2\r\n"
    assert newline_of(crlf) == "\r\n"
    assert conform(crlf, "a = 1\r\nc = 3\nb = 2\r\n") == "a = 1\r\nc = 3\r\nb = 2\r\n"
    assert conform("a = 1", "a = 1\nb = 2\n") == "a = 1\nb = 2"
    assert conform(None, "print(1)") == "print(1)\n"  # a new file ends with a newline


def test_a_search_replace_edit_on_a_crlf_file_keeps_crlf(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    text = FILE.replace("\n", "\r\n")
    document = MemoryDocument(text, path)
    search = '    return os.environ["HOME"]'
    replace = '    return os.path.expanduser("~")'
    reply = f"m.py\n```python\n<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n```\n"
    target = EditTarget(document, tmp_path, ("m.py",), document.selection())
    (change,) = build_edit_proposal(parse_edits(reply), target).changes
    assert change.proposed == text.replace('os.environ["HOME"]', 'os.path.expanduser("~")')
    assert "\n" not in change.proposed.replace("\r\n", "")


def test_a_file_that_does_not_parse_keeps_its_spacing() -> None:
    text = "def a(:\n    pass\n"
    assert conform(text, text + "def b():\n    pass\n", python=True) == text + "def b():\n    pass\n"
