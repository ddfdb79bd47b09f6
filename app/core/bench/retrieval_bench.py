"""``quillpad bench retrieval``: does the project search put the file that answers a question on top?

A query file holds one question per line, a tab, and the path or paths
(relative to the folder, tab-separated) whose presence in the results
answers it; blank lines and lines starting with ``#`` are skipped. The folder
is indexed into a temporary data folder (the folder itself is only read),
then every question is searched once. Results are chunks; a file counts at
the rank of its best chunk, so the figures are about files:

- top-1 and top-5 hit rates: an expected file is first / among the first five files;
- mean reciprocal rank: 1 / rank of the first expected file (0 when it is not in the first ``depth``);
- query latency (median, p95) and the time to build the index.

The same questions are also ranked by plain bm25 over the chunks (what the
search did before it knew about code), so both are printed side by side.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.bench.context_bench import percentile
from app.core.project import InvalidQueryError, Project, ProjectFolderError, SearchHit

DEPTH = 10  # files looked at per question; an answer further down counts as missed


@dataclass(frozen=True)
class RetrievalQuery:
    """One question and the files (relative paths) that answer it."""

    question: str
    answers: tuple[str, ...]
    line: int


def read_queries(path: Path) -> list[RetrievalQuery]:
    """The questions of a query file (see the module docstring); raises ``InvalidQueryError`` on a bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InvalidQueryError(f"The query file {path} cannot be read ({err}); give a UTF-8 text file.") from err
    queries: list[RetrievalQuery] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in raw.split("\t")]
        answers = tuple(f.strip("/") for f in fields[1:] if f)
        if not fields[0] or not answers:
            raise InvalidQueryError(
                f"Line {number} of {path} needs a question, a tab, and at least one path that answers it."
            )
        queries.append(RetrievalQuery(fields[0], answers, number))
    if not queries:
        raise InvalidQueryError(f"The query file {path} holds no questions.")
    return queries


def ranked_files(hits: list[SearchHit]) -> list[str]:
    """Distinct files in the order of their best chunk."""
    return list(dict.fromkeys(hit.path for hit in hits))


@dataclass
class RankingFigures:
    """How one ranking did over the whole query file."""

    name: str
    ranks: list[int | None] = field(default_factory=list)  # rank of the first expected file, None: missed
    latencies: list[float] = field(default_factory=list)

    def hit_rate(self, within: int) -> float:
        """Share of questions whose answer is among the first ``within`` files."""
        return sum(1 for r in self.ranks if r is not None and r <= within) / len(self.ranks) if self.ranks else 0.0

    @property
    def mrr(self) -> float:
        """Mean reciprocal rank."""
        return sum(1.0 / r for r in self.ranks if r is not None) / len(self.ranks) if self.ranks else 0.0

    def line(self) -> str:
        """One row of the table."""
        ms = 1000.0
        median = statistics.median(self.latencies) if self.latencies else 0.0
        return (
            f"{self.name:<18}{self.hit_rate(1):>7.0%}{self.hit_rate(5):>8.0%}{self.mrr:>8.3f}"
            f"{median * ms:>10.1f}{percentile(self.latencies, 95) * ms:>9.1f}"
        )


@dataclass
class RetrievalBenchResult:
    """Both rankings over one folder and query file, and what the index held."""

    folder: str
    queries: list[RetrievalQuery]
    files: int = 0
    chunks: int = 0
    index_seconds: float = 0.0
    rankings: list[RankingFigures] = field(default_factory=list)
    misses: list[tuple[RetrievalQuery, list[str]]] = field(default_factory=list)  # for the main ranking

    def report(self, *, show_misses: bool = True) -> str:
        """The table, then (optionally) the questions the main ranking did not answer in its top 5."""
        rate = self.files / self.index_seconds if self.index_seconds > 0 else 0.0
        lines = [
            f"folder: {self.folder}",
            f"{len(self.queries)} questions; indexed {self.files:,} files, {self.chunks:,} chunks in "
            f"{self.index_seconds:.2f} s ({rate:,.0f} files/s)",
            "",
            f"{'ranking':<18}{'top-1':>7}{'top-5':>8}{'MRR':>8}{'median ms':>10}{'p95 ms':>9}",
            *(figures.line() for figures in self.rankings),
        ]
        if len(self.rankings) == 2:
            base, main = self.rankings[1], self.rankings[0]
            if base.mrr > 0:
                lines.append(f"MRR ratio {main.name} / {base.name}: {main.mrr / base.mrr:.2f}")
        if show_misses and self.misses:
            lines += ["", f"not in the top 5 ({self.rankings[0].name}):"]
            for query, got in self.misses:
                lines.append(f"  line {query.line}: {query.question!r} wants {', '.join(query.answers)}")
                lines.append(f"      got {', '.join(got[:5]) or 'nothing'}")
        return "\n".join(lines)


def _rank_of(answers: tuple[str, ...], files: list[str]) -> int | None:
    for rank, path in enumerate(files[:DEPTH], start=1):
        if path in answers:
            return rank
    return None


def run_retrieval_bench(
    folder: Path,
    queries_file: Path,
    progress: Callable[[str], None] = lambda message: None,
    *,
    data_dir: Path | None = None,
) -> RetrievalBenchResult:
    """Index ``folder`` in a temporary data folder and measure both rankings on ``queries_file``."""
    source = Path(os.path.realpath(folder))
    if not source.is_dir():
        raise ProjectFolderError(f"{folder} is not a folder; give the bench the source tree the questions are about.")
    queries = read_queries(queries_file)
    missing = sorted({a for q in queries for a in q.answers if not (source / a).is_file()})
    if missing:
        raise InvalidQueryError(
            f"{len(missing)} expected paths are not files in {source} (first: {missing[0]}); "
            "check that the query file is for this folder."
        )
    result = RetrievalBenchResult(folder=str(source), queries=queries)
    with tempfile.TemporaryDirectory(prefix="quillpad-retrieval-bench-") as scratch:
        data = data_dir or Path(scratch)
        progress(f"indexing {source}")
        with Project(source, data) as project:
            stats = project.open()
            result.index_seconds, result.files, result.chunks = stats.seconds, stats.files, stats.chunks
            contenders: list[tuple[str, Callable[[str], list[SearchHit]]]] = [
                ("code-aware", lambda q: project.search(q, DEPTH * 2)),
                ("plain bm25", lambda q: project.search_words(q, DEPTH * 4)),
            ]
            for name, search in contenders:
                progress(f"asking {len(queries)} questions ({name})")
                figures = RankingFigures(name)
                for query in queries[:3]:
                    search(query.question)  # warm the caches
                for query in queries:
                    started = time.perf_counter()
                    hits = search(query.question)
                    figures.latencies.append(time.perf_counter() - started)
                    files = ranked_files(hits)
                    rank = _rank_of(query.answers, files)
                    figures.ranks.append(rank)
                    if name == "code-aware" and (rank is None or rank > 5):
                        result.misses.append((query, files))
                result.rankings.append(figures)
    return result
