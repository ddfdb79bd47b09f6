"""The evidence: every corpus solution checked, every deliberate mistake looked for.

No wrong step may ever be marked verified; the figures themselves are printed
by ``quillpad bench math``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.core.mathcheck.corpus import CorpusError, CorpusResult, load_corpus, load_solution, run_corpus

CORPUS = Path(__file__).parents[2] / "fixtures" / "math_corpus"
TOPICS = {"algebra", "equations", "systems", "derivatives", "integrals", "limits", "fractions and percentages"}


@pytest.fixture(scope="module")
def result() -> CorpusResult:
    return run_corpus(load_corpus(CORPUS))


def test_the_corpus_covers_every_topic_with_mistakes() -> None:
    solutions = load_corpus(CORPUS)
    assert len(solutions) >= 60
    topics = Counter(solution.topic for solution in solutions)
    assert set(topics) == TOPICS and min(topics.values()) >= 8
    assert all(solution.mistakes for solution in solutions)
    for solution in solutions:
        for mistake in solution.mistakes:
            assert solution.variant(mistake) != solution.text


def test_no_wrong_step_is_marked_verified(result: CorpusResult) -> None:
    assert result.mistakes >= 60
    assert result.wrong_marked_verified == []


def test_every_deliberate_mistake_is_caught(result: CorpusResult) -> None:
    assert result.mistakes_caught == result.mistakes


def test_correct_steps_are_verified_and_never_marked_wrong(result: CorpusResult) -> None:
    assert result.correct_marked_wrong == []
    assert result.correct_steps >= 200
    assert result.correct_verified / result.correct_steps >= 0.95


def test_correct_answers_get_a_good_badge(result: CorpusResult) -> None:
    assert result.answers_ok == result.solutions
    equation = result.reports["equations/06_square_root_both_signs.md"]
    assert equation.answer.badge == "verified"
    word = result.reports["word/01_discount.md"]
    assert word.answer.badge == "consistent"  # the setting-up of a word problem is not SymPy's to judge


def test_the_mistake_is_explained(result: CorpusResult) -> None:
    wrong = result.reports["equations/01_linear.md#wrong1"].steps[1]
    assert wrong.mark == "wrong" and "x = 5" in wrong.reason
    numeric = result.reports["word/01_discount.md#wrong1"].steps[0]
    assert numeric.mark == "wrong" and "12" in numeric.reason
    derivative = result.reports["derivatives/01_polynomial.md#wrong1"].steps[1]
    assert derivative.mark == "wrong" and "SymPy gets" in derivative.reason


def test_a_bad_corpus_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_text("Solve $x = 1$.\n")
    with pytest.raises(CorpusError, match="front matter"):
        load_solution(bad)
    with pytest.raises(CorpusError, match="not a folder"):
        load_corpus(tmp_path / "missing")
