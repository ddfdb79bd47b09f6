"""The worked-solution corpus: correct solutions plus variants with one deliberate mistake each.

Each ``.md`` file has ``+++`` TOML front matter naming its topic and its
mistakes (``[[wrong]] step = N, text = '…'``: step N's line replaced by the
text). ``run_corpus`` checks them all and counts what the evidence needs.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import QuillpadError
from app.core.mathcheck.extract import extract_steps
from app.core.mathcheck.pool import CheckWorker
from app.core.mathcheck.report import CheckReport
from app.core.mathcheck.verify import CheckOptions, verify_solution

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class CorpusError(QuillpadError):
    """A corpus folder or file that cannot be used."""


@dataclass(frozen=True)
class Mistake:
    """One wrong variant: step ``step`` (1-based) replaced by ``text``."""

    step: int
    text: str


@dataclass(frozen=True)
class Solution:
    """A correct worked solution and its wrong variants."""

    path: Path
    topic: str
    text: str
    mistakes: tuple[Mistake, ...]

    def variant(self, mistake: Mistake) -> str:
        """The solution with the mistake's step replaced."""
        steps = extract_steps(self.text).steps
        if not 1 <= mistake.step <= len(steps):
            raise CorpusError(f"{self.path.name}: there is no step {mistake.step}; fix its front matter.")
        lines = self.text.split("\n")
        lines[steps[mistake.step - 1].line - 1] = mistake.text
        return "\n".join(lines)


def load_solution(path: Path) -> Solution:
    """Read one corpus file."""
    raw = path.read_text(encoding="utf-8")
    parts = raw.split("+++\n", 2)
    if len(parts) != 3 or parts[0].strip():
        raise CorpusError(f"{path.name} has no +++ front matter; add one with its topic and mistakes.")
    try:
        meta = tomllib.loads(parts[1])
    except tomllib.TOMLDecodeError as err:
        raise CorpusError(f"{path.name}: the front matter is not valid TOML ({err}).") from err
    mistakes = tuple(Mistake(int(m["step"]), str(m["text"])) for m in meta.get("wrong", []))
    return Solution(path, str(meta.get("topic", "")), parts[2], mistakes)


def load_corpus(folder: Path) -> list[Solution]:
    """Every solution under ``folder``, sorted by path."""
    if not folder.is_dir():
        raise CorpusError(f"{folder} is not a folder; give the folder of the worked-solution corpus.")
    solutions = [load_solution(path) for path in sorted(folder.rglob("*.md"))]
    if not solutions:
        raise CorpusError(f"{folder} has no .md solutions.")
    return solutions


@dataclass
class CorpusResult:
    """The corpus figures: steps verified, mistakes caught, wrong marked verified, times."""

    solutions: int = 0
    correct_steps: int = 0
    correct_verified: int = 0
    correct_marked_wrong: list[str] = field(default_factory=list)
    mistakes: int = 0
    mistakes_caught: int = 0
    wrong_marked_verified: list[str] = field(default_factory=list)
    answers_ok: int = 0
    seconds: list[float] = field(default_factory=list)
    reports: dict[str, CheckReport] = field(default_factory=dict)

    def report(self) -> str:
        """The figures as a short table for ``quillpad bench math``."""
        times = self.seconds or [0.0]
        return "\n".join(
            [
                f"solutions checked        {self.solutions} correct + {self.mistakes} with one mistake",
                f"correct steps verified   {self.correct_verified} / {self.correct_steps}",
                f"correct steps marked ✗   {len(self.correct_marked_wrong)}",
                f"wrong steps caught       {self.mistakes_caught} / {self.mistakes}",
                f"wrong marked verified    {len(self.wrong_marked_verified)}",
                f"answers verified/consistent {self.answers_ok} / {self.solutions}",
                f"time per solution        median {statistics.median(times) * 1000:.0f} ms, "
                f"max {max(times) * 1000:.0f} ms ({len(times)} runs)",
            ]
        )


def run_corpus(
    solutions: list[Solution], options: CheckOptions | None = None, progress: Callable[[str], None] | None = None
) -> CorpusResult:
    """Check every solution and every variant with one worker process."""
    result = CorpusResult()
    with CheckWorker() as worker:
        for solution in solutions:
            name = f"{solution.path.parent.name}/{solution.path.name}"
            if progress is not None:
                progress(name)
            report = verify_solution(solution.text, worker=worker, options=options)
            result.reports[name] = report
            result.solutions += 1
            result.seconds.append(report.seconds)
            result.answers_ok += report.answer.badge in ("verified", "consistent")
            for step in report.steps:
                if step.mark == "given":
                    continue
                result.correct_steps += 1
                result.correct_verified += step.mark == "verified"
                if step.mark == "wrong":
                    result.correct_marked_wrong.append(f"{name} step {step.index}")
            for number, mistake in enumerate(solution.mistakes, start=1):
                variant = verify_solution(solution.variant(mistake), worker=worker, options=options)
                result.reports[f"{name}#wrong{number}"] = variant
                result.seconds.append(variant.seconds)
                result.mistakes += 1
                mark = variant.steps[mistake.step - 1].mark
                result.mistakes_caught += mark == "wrong"
                if mark == "verified":
                    result.wrong_marked_verified.append(f"{name} step {mistake.step}")
    return result
