"""Ignore rules and the scanner: defaults, .gitignore files (through pathspec), binary names, links."""

from __future__ import annotations

import os
from pathlib import Path

from app.core.project.ignore import IgnoreRules, is_binary_name, is_rules_file
from app.core.project.scanner import scan, stat_candidate
from tests.fixtures.project_tree import INDEXED, write_tree


def test_scan_keeps_exactly_the_indexable_files(tree: Path) -> None:
    found = scan(tree, IgnoreRules(tree), 1_000_000)
    # Binary content without a telling extension (data/blob.dat) is only found when read.
    assert set(found) == INDEXED | {"data/blob.dat"}
    assert found["app/engine.py"].size == (tree / "app/engine.py").stat().st_size


def test_default_folders_are_ignored_wherever_they_are(tmp_path: Path) -> None:
    rules = IgnoreRules(tmp_path)
    for folder in (
        "node_modules",
        ".git",
        "__pycache__",
        ".venv",
        "venv",
        "build",
        "dist",
        "site-packages",
        "x.egg-info",
    ):
        assert rules.is_ignored(f"deep/in/{folder}/file.py", is_dir=False), folder
        assert rules.is_ignored(f"{folder}", is_dir=True), folder
    assert not rules.is_ignored("src/builder/file.py", is_dir=False)


def test_build_output_folders_unless_they_are_python_packages(tmp_path: Path) -> None:
    write_tree(
        tmp_path, {"build/lib/x.py": "x", "pkg/build/__init__.py": "", "pkg/build/step.py": "y", "dist/a.js": "z"}
    )
    assert set(scan(tmp_path, IgnoreRules(tmp_path), 1000)) == {"pkg/build/__init__.py", "pkg/build/step.py"}
    assert (
        IgnoreRules(tmp_path).reason("dist/a.js", is_dir=False)
        == "dist folders hold build output, which is not indexed"
    )


def test_a_virtual_environment_is_found_by_its_marker_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "my-env" / "lib").mkdir(parents=True)
    (tmp_path / "my-env" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "my-env" / "lib" / "x.py").write_text("x = 1\n")
    (tmp_path / "ok.py").write_text("y = 2\n")
    rules = IgnoreRules(tmp_path)
    assert rules.reason("my-env/lib/x.py", is_dir=False) == "it is inside a virtual environment"
    assert set(scan(tmp_path, rules, 1000)) == {"ok.py"}


def test_nested_gitignore_files_follow_git_precedence(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            ".gitignore": "*.tmp\ndocs/*.md\n!docs/keep.md\nout/\n",
            "a.tmp": "x",
            "docs/drop.md": "x",
            "docs/keep.md": "x",
            "docs/deeper/kept.md": "x",  # docs/*.md does not reach below docs/
            "sub/.gitignore": "!special.tmp\nlocal.txt\n",
            "sub/special.tmp": "re-included by the deeper file",
            "sub/other.tmp": "still ignored by the root file",
            "sub/local.txt": "x",
            "out/x.py": "x",
            "sub/out/y.py": "out/ matches at any depth",
        },
    )
    (tmp_path / ".git" / "info").mkdir(parents=True)
    (tmp_path / ".git" / "info" / "exclude").write_text("private.txt\n")
    (tmp_path / "private.txt").write_text("x")
    found = set(scan(tmp_path, IgnoreRules(tmp_path), 1000))
    assert found == {".gitignore", "docs/keep.md", "docs/deeper/kept.md", "sub/.gitignore", "sub/special.tmp"}


def test_nothing_inside_an_ignored_folder_can_be_re_included(tmp_path: Path) -> None:
    write_tree(tmp_path, {".gitignore": "logs/\n!logs/important.txt\n", "logs/important.txt": "x"})
    rules = IgnoreRules(tmp_path)
    assert rules.is_ignored("logs/important.txt", is_dir=False)
    assert set(scan(tmp_path, rules, 1000)) == {".gitignore"}


def test_reload_picks_up_a_changed_gitignore(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a.txt": "x", ".gitignore": ""})
    rules = IgnoreRules(tmp_path)
    assert not rules.is_ignored("a.txt", is_dir=False)
    (tmp_path / ".gitignore").write_text("a.txt\n")
    assert not rules.is_ignored("a.txt", is_dir=False)  # cached until told
    rules.reload()
    assert rules.is_ignored("a.txt", is_dir=False)
    assert is_rules_file("sub/.gitignore") and is_rules_file(".gitignore") and not is_rules_file("x.gitignore")


def test_binary_and_editor_names(tmp_path: Path) -> None:
    rules = IgnoreRules(tmp_path)
    for name in ("a.PNG", "model.gguf", "lib.so", "x.pyc", "archive.tar.gz", "font.woff2"):
        assert is_binary_name(name) or rules.file_ignored(name), name
    for name in (".main.py.1a2b.quillpad-tmp", "notes.txt~", ".x.swp", "app.min.js", ".#lock"):
        assert rules.file_ignored(name), name
    assert not rules.file_ignored("Makefile") and not is_binary_name("archive")


def test_links_are_not_followed_and_loops_do_not_hang(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "p", {"a/x.py": "x = 1\n"})
    outside = write_tree(tmp_path / "outside", {"secret.py": "s = 1\n"})
    os.symlink(root / "a", root / "a" / "loop")  # a folder that contains itself
    os.symlink(outside, root / "out")
    os.symlink(root / "a" / "x.py", root / "alias.py")
    rules = IgnoreRules(root)
    assert set(scan(root, rules, 1000)) == {"a/x.py"}
    assert stat_candidate(root, "alias.py", rules, 1000) is None
    assert scan(root, rules, 1000, under="out") == {}


def test_big_files_and_bad_names_are_left_out(tmp_path: Path) -> None:
    (tmp_path / "big.log.txt").write_bytes(b"x" * 2001)
    (tmp_path / "small.txt").write_bytes(b"x" * 2000)
    (tmp_path / os.fsdecode(b"bad\xffname.py")).write_text("x = 1\n")
    assert set(scan(tmp_path, IgnoreRules(tmp_path), 2000)) == {"small.txt"}


def test_an_unlistable_or_vanished_folder_is_skipped(tmp_path: Path) -> None:
    write_tree(tmp_path, {"a/x.py": "x", "b/y.py": "y"})
    rules = IgnoreRules(tmp_path)
    assert scan(tmp_path, rules, 1000, under="missing") == {}
    assert scan(tmp_path, rules, 1000, under="a/x.py") == {}  # a file, not a folder
    assert scan(tmp_path / "gone", rules, 1000) == {}
