"""The evidence: every corpus solution checked, every deliberate mistake looked for.

No wrong step may ever be marked verified; the figures themselves are printed
by ``quillpad bench math``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from app.core.mathcheck import report_text
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


STYLES = Path(__file__).parents[2] / "fixtures" / "math_corpus_styles"
NOTATIONS = {
    "derivative operator",
    "Leibniz",
    "primes",
    "partial derivatives",
    "substitution",
    "definite integrals",
    "plus-minus",
    "inequalities",
    "approx",
    "operators",
    "mixed numbers",
    "percentages",
    "units",
    "chains",
    "therefore",
    "implies",
}


@pytest.fixture(scope="module")
def styles() -> CorpusResult:
    return run_corpus(load_corpus(STYLES))


def test_the_second_corpus_covers_every_notation_in_three_styles() -> None:
    solutions = load_corpus(STYLES)
    assert len(solutions) >= 60
    assert Counter(solution.topic for solution in solutions) == {"textbook": 20, "student": 20, "model": 20}
    assert {notation for solution in solutions for notation in solution.notations} >= NOTATIONS
    for solution in solutions:
        (variant,) = solution.variants()
        assert variant.text != solution.text and variant.marker


def test_the_second_corpus_meets_the_bar(styles: CorpusResult) -> None:
    assert styles.wrong_marked_verified == []
    assert styles.ticked_after_wrong == [] and styles.after_wrong > 0
    assert styles.correct_marked_wrong == []
    assert styles.mistakes_caught == styles.mistakes == 60
    assert styles.correct_verified / styles.correct_steps >= 0.85


def test_every_notation_is_sound_on_the_second_corpus(styles: CorpusResult) -> None:
    for notation, tally in styles.by_notation.items():
        assert tally.correct_marked_wrong == [], notation
        assert tally.mistakes_caught == tally.mistakes, notation
        assert tally.ticked_after_wrong == [] and tally.wrong_marked_verified == [], notation


def test_the_examples_of_the_issue(styles: CorpusResult) -> None:
    product = styles.reports["textbook/01_product_rule_operator.md"]
    assert [s.mark for s in product.steps[1:]] == ["verified"] * 3
    substitution = styles.reports["textbook/05_substitution_exponential.md"]
    assert all(s.mark == "verified" for s in substitution.steps[1:])
    factoring = styles.reports["textbook/15_factor_quadratic.md"]
    assert [s.mark for s in factoring.steps[1:3]] == ["verified", "verified"]
    assert "\\text" not in report_text(factoring).splitlines()[-1]
    boxed_only = styles.reports["student/19_shopping_boxed_only.md"]
    assert boxed_only.steps[-1].mark == "verified" and boxed_only.answer.badge == "consistent"
    wrong = styles.reports["student/17_linear_boxed.md#wrong1"]
    assert [s.mark for s in wrong.steps[2:]] == ["wrong", "follows"]
    assert wrong.steps[3].reason == "follows from step 3, which is wrong"
