"""``quillpad bench refs``: does the code-reference index find copied code, and only that?

Functions are taken from the installed packages the index holds and planted,
disguised (``refs_transform``), between snippets written for the benchmark
(``data/refs_written.txt``); the snippets and transformations were written
before any threshold was tuned. For each transformation: recall (planted
copies found) and precision (matches that point at the planted copy rather
than at the written code). Then false matches on common boilerplate
(``data/refs_boilerplate.txt``), the minimum-match sweep that chose the
default, the index's build time and size, and the latency of checking a
200-line block.
"""

from __future__ import annotations

import ast
import os
import random
import statistics
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from app.core.bench.refs_transform import TRANSFORMS
from app.core.refs.index import RefIndex
from app.core.refs.matcher import DEFAULT_MIN_TOKENS, Exclusions, RefMatch
from app.core.refs.normalise import python_tokens
from app.core.refs.sources import Source, canonical_name, distribution_sources

ELIGIBLE_TOKENS = 60  # planted functions have at least this many normalised tokens (fixed before tuning)
ELIGIBLE_LINES = (6, 80)
SWEEP = (27, 30, 35, 40, 45, 50, 60)
LATENCY_LINES = 200
HEADLINE = ("renamed", "reformatted", "renamed+comments+reformatted")


def _snippets(name: str) -> list[str]:
    text = files("app.core.bench").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    parts: list[str] = []
    current: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.startswith("# ----"):
            if current:
                parts.append("".join(current))
            current = []
        else:
            current.append(line)
    if current:
        parts.append("".join(current))
    return [part.strip("\n") + "\n" for part in parts[1:]]  # the first part is the file's header


@dataclass(frozen=True)
class Planted:
    """A function from an installed package."""

    path: str
    package: str
    source: str


@dataclass
class TransformScore:
    """Outcomes for one transformation at one minimum match."""

    samples: int = 0
    found: int = 0
    true_matches: int = 0
    false_matches: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.samples if self.samples else 0.0

    @property
    def precision(self) -> float:
        total = self.true_matches + self.false_matches
        return self.true_matches / total if total else 1.0


@dataclass
class RefsBenchResult:
    """Every figure of one run."""

    load: str
    build_seconds: float
    index_bytes: int
    sources: int
    files: int
    tokens: int
    fingerprints: int
    k: int
    w: int
    min_tokens: int
    scores: dict[int, dict[str, TransformScore]] = field(default_factory=dict)
    not_applicable: dict[str, int] = field(default_factory=dict)
    written_false: dict[int, int] = field(default_factory=dict)
    written_checked: int = 0
    boilerplate_false: dict[int, list[str]] = field(default_factory=dict)
    boilerplate_checked: int = 0
    latency_ms: list[float] = field(default_factory=list)
    latency_cpu_ms: list[float] = field(default_factory=list)  # CPU time of the checking thread: less load-bound
    missed: list[str] = field(default_factory=list)
    chars_per_token: float = 0.0  # non-blank characters per normalised token in the planted functions

    def _overall(self, threshold: int) -> tuple[float, float]:
        rows = self.scores[threshold]
        true = sum(score.true_matches for score in rows.values())
        false = sum(score.false_matches for score in rows.values()) + self.written_false[threshold]
        false += len(self.boilerplate_false[threshold])
        precision = true / (true + false) if true + false else 1.0
        headline = [rows[name] for name in HEADLINE if name in rows]
        recall = sum(s.found for s in headline) / max(1, sum(s.samples for s in headline))
        return recall, precision

    def to_dict(self) -> dict[str, Any]:
        recall, precision = self._overall(self.min_tokens)
        return {
            "load": self.load,
            "index": {
                "build_seconds": round(self.build_seconds, 2),
                "bytes": self.index_bytes,
                "sources": self.sources,
                "files": self.files,
                "tokens": self.tokens,
                "fingerprints": self.fingerprints,
                "k": self.k,
                "w": self.w,
            },
            "min_tokens": self.min_tokens,
            "chars_per_token": round(self.chars_per_token, 2),
            "recall_renamed_reformatted": recall,
            "precision": precision,
            "per_transform": {
                name: {"samples": s.samples, "recall": s.recall, "precision": s.precision}
                for name, s in self.scores[self.min_tokens].items()
            },
            "sweep": {str(t): dict(zip(("recall", "precision"), self._overall(t), strict=True)) for t in self.scores},
            "boilerplate_false_matches": self.boilerplate_false[self.min_tokens],
            "latency_ms": {
                "p50": statistics.median(self.latency_ms) if self.latency_ms else None,
                "p95": _percentile(self.latency_ms, 95),
                "max": max(self.latency_ms) if self.latency_ms else None,
                "cpu_p50": statistics.median(self.latency_cpu_ms) if self.latency_cpu_ms else None,
            },
        }

    def report(self) -> str:
        """The tables, for people."""
        out = [
            f"Index of this environment: {self.sources} distributions, {self.files:,} files, {self.tokens:,} tokens, "
            f"{self.fingerprints:,} fingerprints (k={self.k}, w={self.w}: shared runs of {self.k + self.w - 1}+ "
            "tokens always found)",
            f"  built in {self.build_seconds:.1f} s, {self.index_bytes / 1e6:.1f} MB on disk",
            "",
            f"Planted copies at the default minimum match of {self.min_tokens} tokens "
            f"(~{self.min_tokens * self.chars_per_token:.0f} non-blank characters at "
            f"{self.chars_per_token:.1f} per token):",
            f"  {'transformation':30} {'samples':>7} {'recall':>7} {'precision':>9}",
        ]
        for name, score in self.scores[self.min_tokens].items():
            skipped = self.not_applicable.get(name, 0)
            note = f"  ({skipped} samples had nothing to change)" if skipped else ""
            out.append(f"  {name:30} {score.samples:7d} {score.recall:7.3f} {score.precision:9.3f}{note}")
        recall, precision = self._overall(self.min_tokens)
        out += [
            f"  renamed/reformatted recall {recall:.3f}; precision over every match (planted, written, "
            f"boilerplate) {precision:.3f}",
            "",
            f"Written code: {self.written_checked} answers of code written for the benchmark, "
            f"{self.written_false[self.min_tokens]} false match(es)",
            f"Boilerplate: {self.boilerplate_checked} snippets, {len(self.boilerplate_false[self.min_tokens])} "
            "matched: " + ("; ".join(self.boilerplate_false[self.min_tokens]) or "none"),
            "",
            "Minimum match sweep (normalised tokens):",
            f"  {'min':>4} {'recall':>7} {'precision':>9} {'written FP':>10} {'boilerplate FP':>14}",
        ]
        for threshold in sorted(self.scores):
            recall, precision = self._overall(threshold)
            out.append(
                f"  {threshold:4d} {recall:7.3f} {precision:9.3f} {self.written_false[threshold]:10d} "
                f"{len(self.boilerplate_false[threshold]):14d}"
            )
        if self.latency_ms:
            out += [
                "",
                f"Check latency, {LATENCY_LINES}-line blocks ({len(self.latency_ms)} checks): "
                f"p50 {statistics.median(self.latency_ms):.1f} ms, p95 {_percentile(self.latency_ms, 95):.1f} ms, "
                f"max {max(self.latency_ms):.1f} ms (target < 50 ms); CPU time p50 "
                f"{statistics.median(self.latency_cpu_ms):.1f} ms",
            ]
        if self.missed:
            out += ["", "Missed (first few):"] + [f"  {line}" for line in self.missed[:8]]
        out += ["", f"Machine load: {self.load}"]
        return "\n".join(out)


def _percentile(values: Sequence[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _functions(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError, UnicodeError, RecursionError):
        return []
    lines = text.splitlines(keepends=True)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        start = min([node.lineno] + [d.lineno for d in node.decorator_list])
        end = node.end_lineno or node.lineno
        if not ELIGIBLE_LINES[0] <= end - start + 1 <= ELIGIBLE_LINES[1]:
            continue
        source = textwrap.dedent("".join(lines[start - 1 : end]))
        try:
            ast.parse(source)
        except SyntaxError:
            continue
        if len(python_tokens(source)) >= ELIGIBLE_TOKENS:
            found.append(source)
    return found


def sample_functions(
    index: RefIndex, count: int, rng: random.Random, excluded: frozenset[str] = frozenset()
) -> list[Planted]:
    """Functions from the indexed packages' Python files, spread over packages (``excluded`` ones left out)."""
    with index.store.reading() as conn:
        rows = conn.execute(
            "SELECT f.path, s.name FROM files f JOIN sources s ON s.id = f.source_id "
            "WHERE s.kind = 'package' AND f.path LIKE '%.py' ORDER BY f.path"
        ).fetchall()
    by_package: dict[str, list[str]] = {}
    for path, package in rows:
        if canonical_name(package) in excluded:
            continue
        by_package.setdefault(package, []).append(path)
    packages = sorted(by_package)
    rng.shuffle(packages)
    planted: list[Planted] = []
    tries = 0
    while len(planted) < count and packages and tries < count * 20:
        tries += 1
        package = packages[tries % len(packages)]
        path = rng.choice(by_package[package])
        candidates = _functions(path)
        if candidates:
            planted.append(Planted(path, package, rng.choice(candidates)))
    return planted


def _chars_per_token(source: str) -> float:
    """Non-blank characters of code (docstrings and comments left out) per normalised token."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                body[0] = ast.Pass()
    code = ast.unparse(tree)
    return len("".join(code.split())) / max(1, len(python_tokens(code)))


def _compose(parts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Join snippets with blank lines; the 1-based line range of each."""
    text, spans, line = "", [], 1
    for part in parts:
        part = part.rstrip("\n") + "\n"
        count = part.count("\n")
        spans.append((line, line + count - 1))
        text += part + "\n\n"
        line += count + 2
    return text, spans


def _overlaps(match: RefMatch, span: tuple[int, int]) -> bool:
    return match.lines[0] <= span[1] and span[0] <= match.lines[1]


def run_refs_bench(
    *,
    index_path: Path | None = None,
    packages: Sequence[str] | None = None,
    samples: int = 60,
    seed: int = 28,
    min_tokens: int = DEFAULT_MIN_TOKENS,
    progress: Callable[[str], None] = lambda message: None,
) -> RefsBenchResult:
    """Build (or update) an index of this environment, then measure it."""
    rng = random.Random(seed)
    own = Exclusions(distributions=frozenset({"quillpad"}))  # the benchmark's own snippets ship in it
    with tempfile.TemporaryDirectory(prefix="quillpad-refs-bench-") as tmp:
        path = index_path or Path(tmp) / "index.sqlite3"
        index = RefIndex(path)
        wanted: list[Source] = [
            s for s in distribution_sources() if packages is None or s.name.lower() in {p.lower() for p in packages}
        ]
        progress(f"indexing {len(wanted)} distributions into {path}")
        started = time.perf_counter()
        index.update(
            sources=wanted, progress=lambda p: progress(f"{p.done}/{p.total} {p.current}") if p.current else None
        )
        build_seconds = time.perf_counter() - started
        stats = index.stats()
        if index_path is not None and stats.build_seconds is not None:
            build_seconds = max(build_seconds, stats.build_seconds)
        result = RefsBenchResult(
            load=_load(),
            build_seconds=build_seconds,
            index_bytes=stats.size_bytes,
            sources=stats.sources,
            files=stats.files,
            tokens=stats.tokens,
            fingerprints=stats.fingerprints,
            k=index.store.params.k,
            w=index.store.params.w,
            min_tokens=min_tokens,
        )
        written = _snippets("refs_written.txt")
        boilerplate = _snippets("refs_boilerplate.txt")
        planted = sample_functions(index, samples, rng, own.distributions)
        result.chars_per_token = statistics.fmean(_chars_per_token(p.source) for p in planted) if planted else 0.0
        progress(f"checking {len(planted)} planted functions x {len(TRANSFORMS)} transformations")
        thresholds = sorted(set(SWEEP) | {min_tokens})
        result.scores = {t: {name: TransformScore() for name in TRANSFORMS} for t in thresholds}
        result.written_false = dict.fromkeys(thresholds, 0)
        result.boilerplate_false = {t: [] for t in thresholds}
        for number, sample in enumerate(planted):
            for name, transform in TRANSFORMS.items():
                try:
                    changed = transform(sample.source, random.Random(f"{seed}-{number}-{name}"))
                except (SyntaxError, ValueError, tokenize_error()):
                    changed = None
                if changed is None:
                    result.not_applicable[name] = result.not_applicable.get(name, 0) + 1
                    continue
                before, after = rng.sample(written, 2)
                text, spans = _compose([before, changed, after])
                for threshold in thresholds:
                    matches = index.check(text, exclusions=own, min_tokens=threshold)
                    score = result.scores[threshold][name]
                    score.samples += 1
                    hits = [m for m in matches if _overlaps(m, spans[1])]
                    score.true_matches += len(hits)
                    score.false_matches += len(matches) - len(hits)
                    if hits:
                        score.found += 1
                    elif threshold == min_tokens and name in HEADLINE:
                        result.missed.append(
                            f"{name}: {sample.package} {Path(sample.path).name} ({len(python_tokens(changed))} tokens)"
                        )
        progress("checking written code and boilerplate")
        for _ in range(20):
            text, _spans = _compose(rng.sample(written, 3))
            result.written_checked += 1
            for threshold in thresholds:
                result.written_false[threshold] += len(index.check(text, exclusions=own, min_tokens=threshold))
        for snippet in boilerplate:
            result.boilerplate_checked += 1
            for threshold in thresholds:
                for match in index.check(snippet, exclusions=own, min_tokens=threshold):
                    first = snippet.strip().splitlines()[0][:40]
                    result.boilerplate_false[threshold].append(f"{first!r} ~ {match.display_path} ({match.package})")
        progress(f"timing checks of {LATENCY_LINES}-line blocks")
        for number, sample in enumerate(planted[:30]):
            parts = [sample.source]
            while sum(part.count("\n") + 2 for part in parts) < LATENCY_LINES:
                parts.append(written[(number + len(parts)) % len(written)])
            text = "".join(line + "\n" for line in _compose(parts)[0].splitlines()[:LATENCY_LINES])
            index.check(text, exclusions=own)  # first use of this text's hashes warms nothing else
            started, cpu = time.perf_counter(), time.thread_time()
            index.check(text, exclusions=own, min_tokens=min_tokens)
            result.latency_ms.append((time.perf_counter() - started) * 1000)
            result.latency_cpu_ms.append((time.thread_time() - cpu) * 1000)
        index.close()
    return result


def tokenize_error() -> type[Exception]:
    """The tokenizer's error class (transformations read tokens)."""
    import tokenize

    return tokenize.TokenError
