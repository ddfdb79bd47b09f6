"""Worked-solution corpora: correct solutions plus variants with one deliberate mistake each.

Two layouts are read:

* front matter (``tests/fixtures/math_corpus``): each ``.md`` file has ``+++``
  TOML front matter naming its topic and its mistakes (``[[wrong]] step = N,
  text = '…'``: step N's line replaced by the text);
* a truth file (``tests/fixtures/math_corpus_styles``): ``truth.toml`` lists
  each correct file, its variant with one mistake written out whole (the
  mistake carried forward through the later steps) and a piece of LaTeX that
  marks the wrong step, with the notations the solution exercises.

``run_corpus`` checks them all and counts what the evidence needs, in total
and per notation.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.mathcheck.extract import StepText, extract_steps
from app.core.mathcheck.pool import CheckWorker
from app.core.mathcheck.report import CheckReport
from app.core.mathcheck.verify import CheckOptions, verify_solution

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TRUTH_FILE = "truth.toml"


class CorpusError(QuillpadError):
    """A corpus folder or file that cannot be used."""


@dataclass(frozen=True)
class Mistake:
    """One wrong variant: step ``step`` (1-based) replaced by ``text``."""

    step: int
    text: str


@dataclass(frozen=True)
class Variant:
    """A solution with one mistake: its text and how to find the wrong step in it."""

    text: str
    step: int = 0  # the wrong step's number when known in advance
    marker: str = ""  # else: a piece of LaTeX that only the wrong step holds

    def wrong_step(self, steps: tuple[StepText, ...], where: str) -> int:
        """The 1-based number of the wrong step among ``steps``."""
        if self.step:
            return self.step
        wanted = re.sub(r"\s+", "", self.marker)
        for step in steps:
            if wanted in re.sub(r"\s+", "", step.text):
                return step.index
        raise CorpusError(f"{where}: no step holds the mistake {self.marker!r}; fix the truth file.")


@dataclass(frozen=True)
class Solution:
    """A correct worked solution and its wrong variants."""

    path: Path
    topic: str
    text: str
    mistakes: tuple[Mistake, ...] = ()
    notations: tuple[str, ...] = ()
    wrong_texts: tuple[Variant, ...] = ()
    problem_lines: int = 0  # lines stating the problem (their steps are not working); 0: count non-"given" steps

    def variant(self, mistake: Mistake) -> str:
        """The solution with the mistake's step replaced."""
        steps = extract_steps(self.text).steps
        if not 1 <= mistake.step <= len(steps):
            raise CorpusError(f"{self.path.name}: there is no step {mistake.step}; fix its front matter.")
        lines = self.text.split("\n")
        lines[steps[mistake.step - 1].line - 1] = mistake.text
        return "\n".join(lines)

    def variants(self) -> list[Variant]:
        """Every wrong variant, whichever layout it came from."""
        return [Variant(self.variant(m), step=m.step) for m in self.mistakes] + list(self.wrong_texts)

    @property
    def groups(self) -> tuple[str, ...]:
        """What the figures are broken down by: the notations, else the topic."""
        return self.notations or (self.topic,)


def load_solution(path: Path) -> Solution:
    """Read one front-matter corpus file."""
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


def _first_paragraph_lines(text: str) -> int:
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            return number - 1
    return len(lines)


def _load_truth(folder: Path) -> list[Solution]:
    try:
        truth = tomllib.loads((folder / TRUTH_FILE).read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise CorpusError(f"{folder / TRUTH_FILE} is not valid TOML ({err}).") from err
    solutions = []
    for entry in truth.get("solution", []):
        try:
            correct, wrong = folder / str(entry["correct"]), folder / str(entry["wrong"])
            text = correct.read_text(encoding="utf-8")
            variant = Variant(wrong.read_text(encoding="utf-8"), marker=str(entry["mistake"]))
        except KeyError as err:
            raise CorpusError(f"{folder / TRUTH_FILE}: a solution has no {err}; add it.") from err
        except OSError as err:
            raise CorpusError(f"{folder / TRUTH_FILE} names a file that cannot be read ({err}).") from err
        solutions.append(
            Solution(
                correct,
                str(entry.get("style", "")),
                text,
                notations=tuple(str(n) for n in entry.get("notations", [])),
                wrong_texts=(variant,),
                problem_lines=_first_paragraph_lines(text),
            )
        )
    if not solutions:
        raise CorpusError(f"{folder / TRUTH_FILE} lists no solutions.")
    return solutions


def load_corpus(folder: Path) -> list[Solution]:
    """Every solution under ``folder`` (a truth file's list, else every ``.md`` sorted by path)."""
    if not folder.is_dir():
        raise CorpusError(f"{folder} is not a folder; give the folder of the worked-solution corpus.")
    if (folder / TRUTH_FILE).is_file():
        return _load_truth(folder)
    solutions = [load_solution(path) for path in sorted(folder.rglob("*.md"))]
    if not solutions:
        raise CorpusError(f"{folder} has no .md solutions.")
    return solutions


@dataclass
class Tally:
    """The counts for one group of solutions (a whole corpus, or one notation)."""

    solutions: int = 0
    correct_steps: int = 0
    correct_verified: int = 0
    correct_marked_wrong: list[str] = field(default_factory=list)
    mistakes: int = 0
    mistakes_caught: int = 0
    wrong_marked_verified: list[str] = field(default_factory=list)
    after_wrong: int = 0  # steps of a wrong variant that come after (follow from) its mistake
    ticked_after_wrong: list[str] = field(default_factory=list)
    answers_ok: int = 0

    def percent(self) -> str:
        """Correct steps verified, as a percentage."""
        return f"{100 * self.correct_verified / self.correct_steps:.0f} %" if self.correct_steps else "-"


@dataclass
class CorpusResult(Tally):
    """The corpus figures: steps verified, mistakes caught, wrong marked verified, times, per notation."""

    seconds: list[float] = field(default_factory=list)
    reports: dict[str, CheckReport] = field(default_factory=dict)
    by_notation: dict[str, Tally] = field(default_factory=dict)

    def report(self) -> str:
        """The figures as a short table for ``quillpad bench math``."""
        times = self.seconds or [0.0]
        lines = [
            f"solutions checked        {self.solutions} correct + {self.mistakes} with one mistake",
            f"correct steps verified   {self.correct_verified} / {self.correct_steps} ({self.percent()})",
            f"correct steps marked ✗   {len(self.correct_marked_wrong)}",
            f"wrong steps caught       {self.mistakes_caught} / {self.mistakes}",
            f"wrong marked verified    {len(self.wrong_marked_verified)}",
            f"ticks after a mistake    {len(self.ticked_after_wrong)} of {self.after_wrong} later steps",
            f"answers verified/consistent {self.answers_ok} / {self.solutions}",
            f"time per solution        median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms ({len(times)} runs)",
        ]
        if len(self.by_notation) > 1:
            lines += [
                "",
                f"{'notation':<22} {'sol':>3} {'verified':>12} {'✗ on right':>10} {'caught':>7} {'✓ on wrong':>10}",
            ]
            for name, tally in sorted(self.by_notation.items()):
                lines.append(
                    f"{name:<22} {tally.solutions:>3} {tally.correct_verified:>4}/{tally.correct_steps:<3} "
                    f"{tally.percent():>4} {len(tally.correct_marked_wrong):>10} "
                    f"{tally.mistakes_caught:>3}/{tally.mistakes:<3} "
                    f"{len(tally.wrong_marked_verified) + len(tally.ticked_after_wrong):>10}"
                )
        return "\n".join(lines)

    def problems(self) -> list[str]:
        """One line for each failure of the evidence: steps marked wrongly either way, missed mistakes."""
        out = [f"CORRECT STEP MARKED WRONG: {where}" for where in self.correct_marked_wrong]
        out += [f"WRONG MARKED VERIFIED: {where}" for where in self.wrong_marked_verified]
        out += [f"TICK AFTER A MISTAKE: {where}" for where in self.ticked_after_wrong]
        return out


def _working(solution: Solution, report: CheckReport) -> list[Any]:
    if solution.problem_lines:
        return [step for step in report.steps if step.line > solution.problem_lines]
    return [step for step in report.steps if step.mark != "given"]


def _count(tallies: list[Tally], name: str, solution: Solution, report: CheckReport) -> None:
    for tally in tallies:
        tally.solutions += 1
        tally.answers_ok += report.answer.badge in ("verified", "consistent")
        for step in _working(solution, report):
            tally.correct_steps += 1
            tally.correct_verified += step.mark == "verified"
            if step.mark == "wrong":
                tally.correct_marked_wrong.append(f"{name} step {step.index}")


def _count_variant(tallies: list[Tally], name: str, wrong_step: int, report: CheckReport, carried: bool) -> None:
    mark = report.steps[wrong_step - 1].mark if wrong_step <= len(report.steps) else "unchecked"
    later = report.steps[wrong_step:] if carried else []
    for tally in tallies:
        tally.mistakes += 1
        tally.mistakes_caught += mark == "wrong"
        if mark == "verified":
            tally.wrong_marked_verified.append(f"{name} step {wrong_step}")
        tally.after_wrong += len(later)
        tally.ticked_after_wrong += [f"{name} step {step.index}" for step in later if step.mark == "verified"]


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
            tallies: list[Tally] = [result] + [result.by_notation.setdefault(g, Tally()) for g in solution.groups]
            report = verify_solution(solution.text, worker=worker, options=options)
            result.reports[name] = report
            result.seconds.append(report.seconds)
            _count(tallies, name, solution, report)
            for number, variant in enumerate(solution.variants(), start=1):
                report = verify_solution(variant.text, worker=worker, options=options)
                result.reports[f"{name}#wrong{number}"] = report
                result.seconds.append(report.seconds)
                wrong_step = variant.wrong_step(extract_steps(variant.text).steps, name)
                # Only variants written out whole carry the mistake forward; a replaced line does not.
                _count_variant(tallies, f"{name}#wrong{number}", wrong_step, report, carried=not variant.step)
    return result
