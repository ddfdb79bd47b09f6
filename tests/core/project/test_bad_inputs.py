"""Bad inputs to the indexer: each is skipped or limited with a count in the summary, and the index stays
exactly the disk's text files (``assert_index_matches_disk``); no crash, no hang."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from app.core.project import Project
from app.core.project.textread import looks_generated
from tests.fixtures.project_tree import assert_index_matches_disk, write_tree

MakeProject = Callable[..., Project]
GOOD = {"src/good.py": "def good():\n    return 'fine'\n"}


def test_binary_files_are_counted_not_indexed(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", GOOD)
    (root / "data.bin.txt").write_bytes(b"\x00\x01\x02" * 5000)  # binary content behind a text name
    (root / "blob").write_bytes(bytes(range(256)) * 40)
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)  # binary by name: never opened
    project = make_project(root)
    stats = project.open()
    assert project.files() == ["src/good.py"]
    assert stats.skipped_by == {"binary": 2}
    assert assert_index_matches_disk(project) is None


def test_huge_and_generated_files_are_counted_not_indexed(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", GOOD)
    minified = "var a=1;" + ";".join(f"function f{i}(x){{return x*{i}}}" for i in range(20_000)) + "\n"
    (root / "bundle.js").write_text(minified)  # minified without the .min.js name that is ignored outright
    (root / "package-lock.json").write_text(
        json.dumps({"packages": {f"p{i}": {"version": "1.0.0"} for i in range(50)}})
    )
    (root / "poetry.lock").write_text('[[package]]\nname = "x"\n')
    with open(root / "measurements.csv", "wb") as handle:
        handle.truncate(50 * 1024**2)  # 50 MB (sparse: no disk used)
    project = make_project(root)
    stats = project.open()
    assert project.files() == ["src/good.py"]
    assert stats.skipped_by == {"generated": 3, "too_big": 1}
    assert "3 generated (minified or lock files)" in stats.skipped_text()
    assert "1 over the size limit" in stats.skipped_text()
    assert not project.search("f19999", 3)
    assert assert_index_matches_disk(project) is None


def test_what_looks_generated() -> None:
    assert looks_generated("web/yarn.lock", "a\n")
    assert looks_generated("app.js", "x" * 50_000)
    assert not looks_generated("app.js", "\n".join("let x = 1;" for _ in range(5000)))
    assert not looks_generated("notes.md", "one long paragraph " * 200)  # long, but not most of a big file


def test_unknown_encodings_are_read_or_counted(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", GOOD)
    (root / "shift_jis.txt").write_bytes("日本語のテキスト: ramen\n".encode("shift_jis"))
    (root / "ebcdic.txt").write_bytes("HELLO MAINFRAME\n".encode("cp500"))
    (root / "random_high.txt").write_bytes(bytes(range(128, 256)) * 10 + b"\nkeyword_zeta\n")
    (root / "utf16_no_bom.txt").write_bytes("wide text\n".encode("utf-16-le"))  # NUL bytes: taken as binary
    (root / "utf16_bom.txt").write_bytes("wide with bom: omega_word\n".encode("utf-16"))
    project = make_project(root)
    stats = project.open()
    assert set(project.files()) == {"src/good.py", "shift_jis.txt", "ebcdic.txt", "random_high.txt", "utf16_bom.txt"}
    assert stats.skipped_by == {"binary": 1}
    assert project.search("keyword_zeta", 1)[0].path == "random_high.txt"
    assert project.search("omega_word", 1)[0].path == "utf16_bom.txt"
    assert project.search("ramen", 1)[0].path == "shift_jis.txt"
    assert assert_index_matches_disk(project) is None


def test_symlink_loops_are_not_followed(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", GOOD)
    os.symlink(root, root / "src" / "up")  # a folder link back to the root
    os.symlink(root / "a", root / "b")
    os.symlink(root / "b", root / "a")  # a two-link loop
    os.symlink(root / "src" / "good.py", root / "alias.py")
    project = make_project(root)
    stats = project.open()
    assert project.files() == ["src/good.py"]
    assert stats.skipped_by == {"symlink": 4}
    assert assert_index_matches_disk(project) is None


def test_a_huge_tree_is_limited_with_a_count(tmp_path: Path, make_project: MakeProject) -> None:
    # 20,000 files stand for the 200,000-file case: the code path is the same (the walk keeps the first
    # max_files shallowest files and only counts the rest, without a stat), and the test stays quick.
    root = tmp_path / "huge"
    (root / "src").mkdir(parents=True)
    (root / "src" / "main.py").write_text("def main():\n    return 0\n")
    for folder in range(100):
        deep = root / "data" / f"d{folder:03}"
        deep.mkdir(parents=True)
        for number in range(200):
            (deep / f"f{number:03}.txt").touch()
    project = make_project(root, max_files=500)
    stats = project.open()
    assert stats.files == 500
    assert stats.skipped_by == {"over_limit": 20_001 - 500}
    assert "19,501 over the file-count limit" in stats.skipped_text()
    assert "src/main.py" in project.files()  # shallow files come first
    again = project.open()  # the same files on the next check: nothing added or removed
    assert (again.added, again.removed, again.files) == (0, 0, 500)
    with pytest.raises(Exception, match="file count limit"):
        make_project(root, max_files=0)


def test_a_file_deleted_between_listing_and_reading_is_counted(tmp_path: Path, make_project: MakeProject) -> None:
    root = write_tree(tmp_path / "p", {f"m{i}.py": f"x = {i}\n" for i in range(10)})
    project = make_project(root)
    indexer = project._ensure_index()
    from app.core.project import indexer as indexer_module

    real_scan = indexer_module.scan

    def scan_then_delete(*args: object, **kwargs: object) -> object:
        found = real_scan(*args, **kwargs)  # type: ignore[arg-type]
        (root / "m3.py").unlink()  # listed, then gone before it is read
        return found

    indexer_module.scan = scan_then_delete  # type: ignore[assignment]
    try:
        result = indexer.sync()
    finally:
        indexer_module.scan = real_scan
    assert result.skipped_by == {"gone": 1}
    assert "m3.py" not in project.files() and len(project.files()) == 9
    assert assert_index_matches_disk(project) is None


def _index_as_nobody(root: Path, data: Path) -> dict[str, object]:
    """Open the project in a forked child that has dropped root's rights (an exec would need the
    interpreter under /root, which nobody cannot reach); the child reports through a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            with Project(root, data) as project:
                stats = project.open()
                payload = json.dumps({"files": project.files(), "skipped_by": stats.skipped_by}).encode()
            os.write(write_end, payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return dict(json.loads(payload))


def test_permission_denied_folders_and_files_are_counted(tmp_path: Path, make_project: MakeProject) -> None:
    """As root, permissions do not stop reads, so the index is opened by a forked child running as
    ``nobody``; as another user the folder and file are simply made unreadable."""
    base = Path(tempfile.mkdtemp(prefix="quillpad-perm-", dir="/tmp" if os.geteuid() == 0 else tmp_path))
    try:
        os.chmod(base, 0o755)
        root = write_tree(base / "p", GOOD)
        for path in (root, root / "src", root / "src" / "good.py"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        secret = root / "secret"
        secret.mkdir()
        (secret / "keys.py").write_text("KEY = 1\n")
        (root / "private.py").write_text("PRIVATE = 1\n")
        os.chmod(secret, 0o700)
        os.chmod(root / "private.py", 0o600)
        data = base / "data"
        data.mkdir()
        if os.geteuid() == 0:
            os.chown(data, 65534, 65534)
            report = _index_as_nobody(root, data)
        else:
            os.chmod(secret, 0)
            os.chmod(root / "private.py", 0)
            with Project(root, data) as project:
                stats = project.open()
                report = {"files": project.files(), "skipped_by": stats.skipped_by}
        assert report["files"] == ["src/good.py"]
        assert report["skipped_by"] == {"unreadable_folder": 1, "unreadable": 1}
    finally:
        secret_folder = base / "p" / "secret"
        if secret_folder.exists():
            os.chmod(secret_folder, 0o700)
        shutil.rmtree(base, ignore_errors=True)
