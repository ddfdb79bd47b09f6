from __future__ import annotations

import ast
import random
import textwrap
import threading
from importlib.metadata import distribution
from pathlib import Path

import jinja2.utils
import pytest

from app.core.bench.refs_transform import reformat_whitespace, rename_identifiers
from app.core.refs.index import RefIndex
from app.core.refs.licences import distribution_licence
from app.core.refs.matcher import Exclusions, matched_lines, project_exclusions
from app.core.refs.sources import FolderSource, distribution_sources, folder_source
from app.core.refs.store import DAMAGED_NOTICE

# Written for this test; nothing like it is installed anywhere.
WRITTEN = '''
def allocate_seats(groups, rows, seats_per_row):
    """Seat each group together in the first row with room, largest groups first."""
    free = [seats_per_row] * rows
    plan = {}
    for name, size in sorted(groups.items(), key=lambda pair: -pair[1]):
        for row, left in enumerate(free):
            if left >= size:
                start = seats_per_row - left
                plan[name] = (row, list(range(start, start + size)))
                free[row] -= size
                break
        else:
            plan[name] = None
    return plan, sum(free)
'''


def _longest_function(path: str) -> str:
    """The longest function of an installed module, as its source text."""
    text = Path(path).read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    best = max(
        (
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and (node.end_lineno or 0) - node.lineno < 80
        ),
        key=lambda node: (node.end_lineno or 0) - node.lineno,
    )
    start = min([best.lineno] + [d.lineno for d in best.decorator_list])
    return textwrap.dedent("".join(lines[start - 1 : best.end_lineno]))


@pytest.fixture(scope="module")
def copied() -> str:
    assert jinja2.utils.__file__ is not None
    return _longest_function(jinja2.utils.__file__)


def test_verbatim_copy_is_found_with_package_version_and_licence(real_index: RefIndex, copied: str) -> None:
    answer = WRITTEN + "\n\n" + copied
    matches = real_index.check(answer)
    assert matches, "a verbatim copy of installed code must match"
    best = matches[0]
    dist = distribution("Jinja2")
    assert best.package == "Jinja2"
    assert best.version == dist.version
    assert best.licence == distribution_licence(dist).name
    assert best.display_path == "jinja2/utils.py"
    assert Path(best.path) == Path(jinja2.utils.__file__ or "")
    first_copied_line = WRITTEN.count("\n") + 2 + 1
    assert best.lines[0] >= first_copied_line - 1  # the written code above is not highlighted
    assert best.describe().startswith(f"Matches {best.line_count} lines of `jinja2/utils.py`")
    assert f"from Jinja2 {dist.version}" in best.describe()
    assert not matched_lines(matches) & set(range(1, WRITTEN.count("\n")))


def test_renamed_and_reformatted_copy_is_found(real_index: RefIndex, copied: str) -> None:
    rng = random.Random(7)
    disguised = reformat_whitespace(rename_identifiers(copied, rng) or "", rng) or ""
    assert disguised != copied
    assert not set(copied.split()) >= set(disguised.split())  # really changed
    matches = real_index.check(disguised)
    assert matches and matches[0].display_path == "jinja2/utils.py"
    assert matches[0].tokens >= 40


def test_code_written_for_the_test_does_not_match(real_index: RefIndex) -> None:
    assert real_index.check(WRITTEN) == []
    assert real_index.check("") == []
    assert real_index.check("x = (") == []


def test_the_users_own_project_is_excluded(tmp_path: Path, copied: str) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "mine.py").write_text(WRITTEN, encoding="utf-8")
    (project / "pyproject.toml").write_text('[project]\nname = "Jinja2"\n', encoding="utf-8")
    other = tmp_path / "other"
    other.mkdir()
    (other / "theirs.py").write_text(WRITTEN, encoding="utf-8")
    index = RefIndex(tmp_path / "index.sqlite3", folders=[project, other], include_own_environment=False)
    jinja = [s for s in distribution_sources() if s.name == "Jinja2"]
    index.update(sources=[*jinja, folder_source(project), folder_source(other)])
    everything = index.check(WRITTEN + "\n\n" + copied)
    assert {m.package for m in everything} >= {"project", "other", "Jinja2"}
    own = index.check(WRITTEN + "\n\n" + copied, exclusions=project_exclusions(project))
    # The project's folder and the distribution its pyproject.toml names are the user's own code.
    assert {m.package for m in own} == {"other"}
    assert own[0].kind == "folder" and own[0].describe().startswith("Matches")
    index.close()


def test_updates_follow_the_environment(tmp_path: Path) -> None:
    from tests.core.refs.conftest import make_distribution

    site = tmp_path / "site-packages"
    make_distribution(site, "planted", "1.0", {"planted/core.py": WRITTEN}, {"License-Expression": "MIT"})
    index = RefIndex(tmp_path / "index.sqlite3", include_own_environment=False)
    first = index.update(sources=distribution_sources([site]))
    assert first.added == ["dist:planted==1.0"]
    again = index.update(sources=distribution_sources([site]))
    assert again.added == [] and again.unchanged == 1
    match = index.check(WRITTEN)[0]
    assert (match.package, match.version, match.licence) == ("planted", "1.0", "MIT")

    # An upgrade: the old version goes, the new one is read.
    for info in site.glob("planted-1.0.dist-info"):
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
    make_distribution(site, "planted", "2.0", {"planted/core.py": WRITTEN}, {})
    upgraded = index.update(sources=distribution_sources([site]))
    assert upgraded.added == ["dist:planted==2.0"] and upgraded.removed == ["dist:planted==1.0"]
    match = index.check(WRITTEN)[0]
    assert (match.version, match.licence_text) == ("2.0", "licence unknown")
    assert index.stats().sources == 1
    index.close()


def test_binary_minified_huge_and_vanishing_files_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "good.py").write_text(WRITTEN, encoding="utf-8")
    (folder / "binary.py").write_bytes(b"\x00\x01" * 500 + WRITTEN.encode())
    (folder / "minified.js").write_text("var a=1;" * 5000, encoding="utf-8")
    (folder / "huge.py").write_text("x = 1\n" * 300_000, encoding="utf-8")
    (folder / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1") + WRITTEN.encode())

    class Vanishing(FolderSource):
        def files(self) -> list[Path]:
            listed = super().files()
            return [*listed, folder / "deleted-while-indexing.py"]

    base = folder_source(folder)
    source = Vanishing(base.key, base.kind, base.name, base.version, base.licence, base.location, base.signature)
    index = RefIndex(tmp_path / "index.sqlite3", include_own_environment=False)
    result = index.update(sources=[source])
    assert result.files == 1 and result.skipped_files == 5
    assert index.check(WRITTEN)[0].display_path == "good.py"
    index.close()


def test_a_damaged_index_is_rebuilt_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    index = RefIndex(path, include_own_environment=False)
    assert index.notice == DAMAGED_NOTICE
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "code.py").write_text(WRITTEN, encoding="utf-8")
    index.update(sources=[folder_source(folder)])
    assert index.check(WRITTEN)
    index.close()
    reopened = RefIndex(path, include_own_environment=False)
    assert reopened.notice is None and reopened.check(WRITTEN)
    reopened.close()


def test_a_cancelled_update_leaves_whole_sources_and_checks_keep_working(tmp_path: Path) -> None:
    folders = []
    for number in range(3):
        folder = tmp_path / f"lib{number}"
        folder.mkdir()
        (folder / "code.py").write_text(WRITTEN.replace("seats", f"seats{number}"), encoding="utf-8")
        folders.append(folder_source(folder))
    index = RefIndex(tmp_path / "index.sqlite3", include_own_environment=False)
    calls: list[str] = []

    def cancel_after_first() -> bool:
        calls.append("asked")
        return index.stats().sources >= 1

    result = index.update(sources=folders, cancelled=cancel_after_first)
    assert result.cancelled and index.stats().sources == 1
    # Checks from another thread while the rest is being read.
    errors: list[BaseException] = []

    def check_loop() -> None:
        try:
            for _ in range(20):
                index.check(WRITTEN, exclusions=Exclusions())
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=check_loop)
    thread.start()
    index.update(sources=folders)
    thread.join()
    assert not errors and index.stats().sources == 3
    index.close()
