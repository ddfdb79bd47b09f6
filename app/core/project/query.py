"""Turning a message into an FTS5 query: its meaningful words, any of which may match.

Words are letters, digits and underscores. Common English words and code
keywords are dropped (they match everything and slow the ranking down);
camelCase words also search their parts as a phrase. Every term is quoted, so nothing
in a message can be read as FTS5 syntax; an identifier with underscores
becomes a phrase of its parts, which is how the index tokenises it.
"""

from __future__ import annotations

import itertools
import re

MAX_TERMS = 24
MAX_COMPOUNDS = 6
# Words that never start or end a compound name (joining them only adds terms that match nothing).
_JOIN_SKIP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "how",
        "does",
        "what",
        "where",
        "which",
        "when",
        "why",
        "this",
        "that",
        "with",
        "from",
        "into",
        "its",
        "was",
        "were",
        "has",
        "have",
        "can",
        "not",
        "you",
        "your",
        "our",
        "their",
        "there",
        "then",
        "than",
    ]
)
_WORD = re.compile(r"[A-Za-z0-9_]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")

_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have having
he her here hers him his how i if in into is it its itself just me more most my no nor not now of off on
once only or other our out over own same she should so some such than that the their them then there these
they this those through to too under until up very was we were what when where which while who whom why
will with would you your yours please thanks thank hi hello tell show explain give make want need know
get got let lets use using used like way work works file files code project write help see look
def class self return import from none true false null var const function func fn pub int str
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def query_terms(text: str) -> list[str]:
    """The distinct searchable words of ``text``, in order, lowercased (at most MAX_TERMS).

    When every word is a common one, the common words are kept: a search for "file" is meant.
    """
    return [word.lower() for word in _words(text)]


def _words(text: str) -> list[str]:
    return _pick(text, STOPWORDS) or _pick(text, frozenset())


def _pick(text: str, stopwords: frozenset[str]) -> list[str]:
    picked: dict[str, str] = {}
    for word in _WORD.findall(text):
        word = word.strip("_")
        term = word.lower()
        if len(term) < 2 or term in stopwords or (term.isdigit() and len(term) < 3) or term in picked:
            continue
        picked[term] = word
        if len(picked) >= MAX_TERMS:
            break
    return list(picked.values())


def build_match(text: str, *, compounds: bool = True) -> str:
    """An FTS5 MATCH expression for ``text``: its terms joined with OR ("" when there are none).

    A camelCase word also matches its parts side by side (``"file watcher"`` for FileWatcher), as a
    phrase: separate parts would each match far more chunks and make ranking slow. With ``compounds``,
    neighbouring words are also searched written as one ("file name" finds filename).
    """
    terms: dict[str, None] = {}
    for word in _words(text):
        terms.setdefault(f'"{word.lower()}"')
        if _CAMEL.search(word):
            terms.setdefault('"' + _CAMEL.sub(" ", word).lower() + '"')
    for joined in _compounds(text) if compounds else []:
        terms.setdefault(f'"{joined}"')
    return " OR ".join(terms)


def _compounds(text: str) -> list[str]:
    """Neighbouring words written as one, as code names them: "file name" -> filename, "line numbers" -> linenumbers.

    Only plain lower-case words, and at most a few, so a long message does not double its terms.
    """
    words = re.findall(r"[A-Za-z]+|[^A-Za-z\s]+", text)
    out: list[str] = []
    for first, second in itertools.pairwise(words):
        joinable = first.isalpha() and first.islower() and second.isalpha() and second.islower()
        joinable = joinable and len(first) >= 3 and len(second) >= 3
        if joinable and first.lower() not in _JOIN_SKIP and second.lower() not in _JOIN_SKIP:
            out.append((first + second).lower())
    return out[:MAX_COMPOUNDS]
