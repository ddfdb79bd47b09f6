"""Code referencing: whether generated code reproduces code already on this computer.

A local fingerprint index (``store``) of code nobody here wrote: the Python
distributions installed in Quillpad's and the project's environments, with
each one's licence (``licences``), and folders the user adds (``sources``).
Code is normalised (``normalise``: names and literals abstracted, layout and
comments dropped) and fingerprinted by winnowing (``winnow``), as MOSS does;
``indexer`` builds and updates the index, ``matcher`` checks a block of code
and reports each match with file, line range, package, version and licence.

Only code on this computer is compared: no match is not proof of originality.
"""

from app.core.refs.index import RefIndex, default_index_path
from app.core.refs.matcher import DEFAULT_MIN_TOKENS, Exclusions, RefMatch, matched_lines, project_exclusions

__all__ = [
    "DEFAULT_MIN_TOKENS",
    "Exclusions",
    "RefIndex",
    "RefMatch",
    "default_index_path",
    "matched_lines",
    "project_exclusions",
]
