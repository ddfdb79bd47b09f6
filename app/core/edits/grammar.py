"""A llama.cpp grammar (GBNF) that holds a model to the edit format.

With it, sampling can only produce a sequence of search/replace blocks and
whole-file blocks, each under a path line: a small model cannot wander into
prose or break a marker. Lines inside a section cannot start with the
marker characters (``<<<<<<<``, ``=======``, ``>>>>>>>``) or with a fence, the
price of a grammar without look-ahead. A grammar constrains every token the
model writes, thinking included, so use it with thinking switched off.
"""

from __future__ import annotations

EDIT_GRAMMAR = r"""
root         ::= block ("\n" block)* "\n"?
block        ::= path "\n" fence-open (edit+ | content) fence-close
path         ::= [A-Za-z0-9_\-] [A-Za-z0-9_.\-/]{0,100} "." [a-z]{1,6}
fence-open   ::= "```" [a-z]{0,12} "\n"
fence-close  ::= "```\n"
edit         ::= "<<<<<<< SEARCH\n" line* "=======\n" line* ">>>>>>> REPLACE\n"
content      ::= code-line+
line         ::= (plain | lt | eq | gt)? "\n"
code-line    ::= (plain | lt | eq | gt)? "\n"
plain        ::= [^<=>`\n] [^\n]*
lt           ::= "<" ([^<\n] [^\n]*)?
eq           ::= "=" ([^=\n] [^\n]*)?
gt           ::= ">" ([^>\n] [^\n]*)?
"""


def edit_grammar() -> str:
    """The GBNF text for ``llama_cpp.LlamaGrammar.from_string``."""
    return EDIT_GRAMMAR.strip() + "\n"
