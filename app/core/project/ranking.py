"""Ranking project chunks for a question, knowing that the project is code.

bm25 over the chunks' words is only the first field. A chunk's score adds up
from:

- its words: bm25 over path, defined names and text, scaled to the best match (0..1);
- definitions: the question names an identifier (``def load``, ``class Repo``, ``Repo.clone_from``,
  ``git.objects.base``, a bare ``snake_case`` or ``CamelCase`` name) and the chunk defines it; the kind
  (function or type), the type a method belongs to and the folders of a dotted path make it surer.
  Plain words that are exactly a definition's name count a little too;
- names: the file or one of its folders is named in the question;
- centrality: PageRank over the import graph (what much of the project uses comes first on a tie);
- recency: the user edited or opened the file lately, or it imports or is imported by those files;

and is then lowered for tests, examples, benchmarks and vendored code unless the question is about
tests. At most ``MAX_PER_FILE`` chunks come from one file. Each hit says why it was chosen.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from app.core.project.index import ChunkRef, Definition, IndexStore, SearchHit
from app.core.project.query import STOPWORDS, build_match, query_terms

MAX_PER_FILE = 2
CANDIDATES = 150  # bm25 candidates re-ranked per question
WORD_DEFINITIONS = 40  # definitions looked up for plain words

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_CAMEL = re.compile(r"[a-z0-9][A-Z]|^[A-Z][a-z0-9]+[A-Z]")
_FILE_SUFFIXES = frozenset(
    [
        "py",
        "pyi",
        "js",
        "jsx",
        "ts",
        "tsx",
        "mjs",
        "cjs",
        "go",
        "rs",
        "c",
        "h",
        "cc",
        "cpp",
        "hpp",
        "java",
        "md",
        "txt",
        "toml",
        "json",
        "yaml",
        "yml",
        "cfg",
        "ini",
        "rst",
        "html",
        "css",
        "sh",
    ]
)
_FUNCTION_WORDS = frozenset({"def", "function", "func", "fn", "method", "procedure"})
_TYPE_WORDS = frozenset({"class", "struct", "interface", "enum", "trait", "protocol"})
_TYPE_KINDS = frozenset({"class", "struct", "interface", "enum", "trait", "type", "union", "impl", "namespace"})
_FUNCTION_KINDS = frozenset({"function", "method"})
_TEST_WORDS = frozenset(
    [
        "test",
        "tests",
        "testing",
        "unittest",
        "pytest",
        "spec",
        "specs",
        "benchmark",
        "benchmarks",
        "bench",
        "example",
        "examples",
        "fixture",
        "fixtures",
        "vendored",
        "vendor",
        "conftest",
    ]
)
_SECONDARY_FOLDER = re.compile(
    r"(^|/)(tests?|testing|__tests__|specs?|examples?|samples?|benchmarks?|bench|vendor|vendored|_vendor|"
    r"third_party|thirdparty|node_modules|fixtures?)(/|$)"
)
_SECONDARY_FILE = re.compile(
    r"(^|/)(test_[^/]*|[^/]*_tests?\.[a-z]+|[^/]*\.(test|spec)\.[a-z]+|conftest\.py|bench_[^/]*)$"
)
_WORD_SPLIT = re.compile(r"[/._\-\s]+|(?<=[a-z0-9])(?=[A-Z])")


@dataclass(frozen=True)
class Weights:
    """How much each field adds; one place to read and tune them (tuned on the shipped query files)."""

    words: float = 1.0
    named_definition: float = 1.5
    exact_case: float = 0.2
    kind_matches: float = 0.4
    container_matches: float = 0.6
    dotted_folders: float = 0.4
    word_definition: float = 0.25
    name_from_words: float = 0.4
    file_named: float = 0.35
    folder_named: float = 0.1
    centrality: float = 0.1
    recent: float = 0.3
    related: float = 0.15
    secondary_factor: float = 0.5
    compound_words: bool = True  # also search neighbouring words written as one ("file name" -> filename)


WEIGHTS = Weights()


@dataclass(frozen=True)
class Identifier:
    """A code name in the question: ``kind`` is "function" or "type" when it was said (``def x``)."""

    name: str
    kind: str | None = None
    container: str | None = None  # the type of ``Repo.clone_from``
    folders: tuple[str, ...] = ()  # the lower-case parts of a dotted path before the name


@dataclass(frozen=True)
class Question:
    """What the ranking reads out of a question."""

    text: str
    terms: list[str]
    identifiers: list[Identifier]
    words: list[str]  # plain words that might be definition names
    about_tests: bool


@dataclass
class RecencyHints:
    """What the user touched lately: ``files`` maps a path to "edited" or "opened"; ``related`` are files
    that import or are imported by those (and the current file)."""

    files: Mapping[str, str] = field(default_factory=dict)
    related: frozenset[str] = frozenset()


@functools.lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    word = word.lower()
    return word[:-1] if len(word) > 4 and word.endswith("s") and not word.endswith("ss") else word


def parse_question(text: str) -> Question:
    """Identifiers, plain words and intent of ``text``."""
    tokens = _TOKEN.findall(text)
    terms = query_terms(text)
    identifiers: dict[str, Identifier] = {}
    plain = [t for t in tokens if t.lower() not in STOPWORDS and "." not in t]
    bare_question = len(plain) <= 2 and len(tokens) <= 3
    previous = ""
    for token in tokens:
        lower_prev = previous.lower()
        previous = token
        parts = token.split(".")
        if len(parts) > 1:
            if parts[-1].lower() in _FILE_SUFFIXES:  # "foo.py" names a file, not a member
                continue
            name = parts[-1]
            container = parts[-2] if parts[-2][:1].isupper() else None
            folders = tuple(p.lower() for p in parts[:-1] if p != container)
            identifiers.setdefault(name, Identifier(name, None, container, folders))
            continue
        kind = "function" if lower_prev in _FUNCTION_WORDS else "type" if lower_prev in _TYPE_WORDS else None
        if token.lower() in _FUNCTION_WORDS or token.lower() in _TYPE_WORDS:
            continue
        code_shaped = "_" in token.strip("_") or bool(_CAMEL.search(token))
        if kind or code_shaped or (bare_question and token.lower() not in STOPWORDS and len(token) > 2):
            identifiers.setdefault(token, Identifier(token, kind))
    named = {i.name.lower() for i in identifiers.values()}
    words = [t for t in terms if len(t) >= 4 and t not in named and not t.isdigit()]
    about_tests = any(t in _TEST_WORDS for t in terms)
    return Question(text, terms, list(identifiers.values()), words, about_tests)


def is_secondary(path: str) -> bool:
    """Tests, examples, benchmarks and vendored code: ranked below the code they exercise."""
    return bool(_SECONDARY_FOLDER.search(path) or _SECONDARY_FILE.search(path))


@functools.lru_cache(maxsize=65536)
def path_words(path: str) -> tuple[str, frozenset[str]]:
    """A file's stem and its folders' words, lower-case and lightly stemmed."""
    folder, _, name = path.rpartition("/")
    stem = name.split(".")[0]
    folders = frozenset(_stem(w) for w in _WORD_SPLIT.split(folder) if w)
    return _stem(stem), folders


@dataclass
class _Scored:
    ref: ChunkRef
    words: float = 0.0
    boost: float = 0.0
    reasons: dict[str, None] = field(default_factory=dict)
    definitions: dict[str, None] = field(default_factory=dict)


def _definition_score(identifier: Identifier, definition: Definition, weights: Weights) -> float:
    score = weights.named_definition
    if definition.name == identifier.name:
        score += weights.exact_case
    wanted_kinds = {"type": _TYPE_KINDS, "function": _FUNCTION_KINDS}.get(identifier.kind or "", frozenset())
    if definition.kind in wanted_kinds:
        score += weights.kind_matches
    elif identifier.kind is not None:
        score -= weights.kind_matches
    if identifier.container is not None:
        if definition.container is not None and definition.container.lower() == identifier.container.lower():
            score += weights.container_matches
        else:
            score -= weights.container_matches / 2
    if identifier.folders:
        stem, folders = path_words(definition.path)
        have = folders | {stem}
        score += (
            weights.dotted_folders * sum(1 for f in identifier.folders if _stem(f) in have) / len(identifier.folders)
        )
    return score


def rank(
    store: IndexStore,
    text: str,
    k: int,
    *,
    centrality: Mapping[str, float] | None = None,
    recency: RecencyHints | None = None,
    weights: Weights = WEIGHTS,
    max_per_file: int = MAX_PER_FILE,
) -> list[SearchHit]:
    """The ``k`` best chunks for the question ``text``, best first, each with its reasons."""
    question = parse_question(text)
    match = build_match(text, compounds=weights.compound_words)
    if not match and not question.identifiers:
        return []
    scored: dict[int, _Scored] = {}
    refs = store.candidates(match, CANDIDATES) if match else []
    best = refs[0].score if refs and refs[0].score > 0 else 1.0
    stems = {_stem(t) for t in question.terms} | {i.name.lower() for i in question.identifiers}
    for ref in refs:
        entry = scored.setdefault(ref.id, _Scored(ref))
        entry.words = max(0.0, ref.score) / best
        entry.reasons.setdefault("matches the words")
        spelled = _name_spelled_out(ref.names, stems)
        if spelled:
            entry.boost += weights.name_from_words
            entry.reasons.setdefault(f"definition of {spelled}")
            entry.definitions.setdefault(spelled)

    with_types = any(i.container for i in question.identifiers)
    definitions = (
        store.definitions([i.name for i in question.identifiers], containers=with_types) if question.identifiers else []
    )
    if question.words:
        # Plain words name a definition only now and then ("prime", "limit"); common ones ("value") name
        # hundreds, which would cost time and say little: only a few are taken.
        definitions += store.definitions(question.words, limit=WORD_DEFINITIONS, containers=False)
    if definitions:
        places = store.chunks_at([(d.path, d.start_line) for d in definitions])
        by_name = {i.name.lower(): i for i in question.identifiers}
        for definition in definitions:
            place = places.get((definition.path, definition.start_line))
            if place is None:
                continue
            entry = scored.setdefault(place.id, _Scored(place))
            identifier = by_name.get(definition.name.lower())
            if identifier is not None:
                gain = _definition_score(identifier, definition, weights)
                entry.reasons.setdefault(f"definition of {definition.name}, named in the question")
            else:
                gain = weights.word_definition
                entry.reasons.setdefault(f"definition of {definition.name}")
            entry.definitions.setdefault(definition.name)
            entry.boost = max(entry.boost, gain) if identifier is None else entry.boost + gain

    ranks = centrality or {}
    top_rank = max(ranks.values(), default=0.0)
    recency = recency or RecencyHints()
    final: list[tuple[float, _Scored]] = []
    for entry in scored.values():
        path = entry.ref.path
        stem, folders = path_words(path)
        score = weights.words * entry.words + entry.boost
        if stem in stems and stem not in STOPWORDS:
            score += weights.file_named
            entry.reasons.setdefault("file named in the question")
        score += weights.folder_named * min(2, len(folders & stems))
        if top_rank > 0:
            score += weights.centrality * math.log1p(ranks.get(path, 0.0)) / math.log1p(top_rank)
        touched = recency.files.get(path)
        if touched:
            score += weights.recent
            entry.reasons.setdefault(f"recently {touched}")
        elif path in recency.related:
            score += weights.related
            entry.reasons.setdefault("related by references")
        if not question.about_tests and is_secondary(path):
            score *= weights.secondary_factor
        final.append((score, entry))
    final.sort(key=lambda pair: (-pair[0], pair[1].ref.path, pair[1].ref.start_line))

    chosen: list[tuple[float, _Scored]] = []
    per_file: dict[str, int] = {}
    for score, entry in final:
        path = entry.ref.path
        if per_file.get(path, 0) >= max_per_file:
            continue
        per_file[path] = per_file.get(path, 0) + 1
        chosen.append((score, entry))
        if len(chosen) >= k:
            break
    texts = store.chunk_texts([entry.ref.id for _, entry in chosen])
    return [
        SearchHit(
            entry.ref.path,
            entry.ref.start_line,
            entry.ref.end_line,
            texts.get(entry.ref.id, ""),
            round(score, 4),
            _ordered_reasons(entry.reasons),
            tuple(entry.definitions),
        )
        for score, entry in chosen
    ]


def _name_spelled_out(names: str, stems: set[str]) -> str | None:
    """A defined name whose every meaningful part the question says ("style by name" -> get_style_by_name)."""
    lowered = names.lower()
    if sum(1 for stem in stems if stem in lowered) < 2:  # cheap test first: most chunks fail it
        return None
    for name in names.split():
        parts = _name_parts(name)
        if len(parts) >= 2 and parts <= stems:
            return name
    return None


@functools.lru_cache(maxsize=65536)
def _name_parts(name: str) -> frozenset[str]:
    """The meaningful, stemmed parts of a compound name (empty for a name of one word)."""
    if "_" not in name.strip("_") and not _CAMEL.search(name):
        return frozenset()
    return frozenset(_stem(p) for p in _WORD_SPLIT.split(name) if len(p) > 1 and p.lower() not in STOPWORDS)


def _ordered_reasons(reasons: Mapping[str, None]) -> tuple[str, ...]:
    """Most telling first; "matches the words" only when nothing else explains the choice."""
    named = [r for r in reasons if "named in the question" in r]
    others = [r for r in reasons if r not in named and r != "matches the words"]
    out = named + others
    return tuple(out) if out else tuple(r for r in reasons)


def neighbours(graph: Mapping[str, set[str]], paths: Sequence[str]) -> frozenset[str]:
    """Files that import, or are imported by, any of ``paths``."""
    wanted = set(paths)
    related = set()
    for source, targets in graph.items():
        if source in wanted:
            related.update(targets)
        elif targets & wanted:
            related.add(source)
    return frozenset(related - wanted)
