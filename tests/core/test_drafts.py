"""Drafts of unsaved buffers: atomic writes, damaged files, crashed and running writers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.core.drafts import Draft, DraftStore, drafts_folder
from app.core.paths import app_paths


def test_the_drafts_folder_is_in_the_data_folder(isolated_home: Path) -> None:
    assert drafts_folder(app_paths()) == isolated_home / "data" / "drafts"


def test_save_list_remove(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    assert store.list() == []  # the folder does not exist yet
    store.save("a1", "/x/main.py", "main.py", "print(1)\n")
    store.save("b2", None, "Untitled-1", "notes ü\n")
    drafts = store.list()
    assert [(d.key, d.path, d.title, d.text) for d in drafts] == [
        ("a1", "/x/main.py", "main.py", "print(1)\n"),
        ("b2", None, "Untitled-1", "notes ü\n"),
    ]
    assert all(d.pid == os.getpid() and d.saved_at > 0 for d in drafts)
    store.save("a1", "/x/main.py", "main.py", "print(2)\n")  # replaces
    assert [d.text for d in store.list() if d.key == "a1"] == ["print(2)\n"]
    store.remove("a1")
    store.remove("never-saved")
    assert [d.key for d in store.list()] == ["b2"]
    assert not [p for p in (tmp_path / "drafts").iterdir() if p.suffix != ".json"]  # no temporary files


def test_odd_keys_get_safe_file_names(tmp_path: Path) -> None:
    store = DraftStore(tmp_path)
    store.save("../../etc/passwd", None, "t", "x")
    assert [d.key for d in store.list()] == ["../../etc/passwd"]
    assert all(p.parent == tmp_path for p in tmp_path.iterdir())
    store.remove("../../etc/passwd")
    assert store.list() == []


def test_damaged_files_are_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = DraftStore(tmp_path)
    store.save("good", None, "Untitled-1", "kept")
    (tmp_path / "truncated.json").write_text('{"version": 1, "key": "x", "te')
    (tmp_path / "wrong.json").write_text(json.dumps({"version": 1, "key": 3, "title": "t", "text": "x"}))
    (tmp_path / "future.json").write_text(json.dumps({"version": 99}))
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / ".good.1234.tmp").write_text("half-written temporary")
    with caplog.at_level(logging.WARNING):
        drafts = store.list()
    assert [d.text for d in drafts] == ["kept"]
    assert "skipping damaged draft" in caplog.text


def test_a_read_only_folder_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = DraftStore(tmp_path / "drafts")

    def refuse(*_args: object, **_kwargs: object) -> object:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    store.save("k", None, "Untitled-1", "text")
    assert store.last_error is not None
    assert store.last_error.startswith("Unsaved text cannot be backed up in ")
    assert "Permission denied" in store.last_error and store.last_error.endswith("protected against crashes.")
    assert store.list() == []
    monkeypatch.undo()
    store.save("k", None, "Untitled-1", "text")
    assert store.last_error is None and [d.key for d in store.list()] == ["k"]


def test_a_file_in_place_of_the_folder_never_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "drafts"
    blocker.write_text("not a folder")
    store = DraftStore(blocker)
    store.save("k", None, "t", "x")
    store.remove("k")
    assert store.last_error is not None and store.list() == []


def _writer(tmp_path: Path, folder: Path, then: str) -> subprocess.Popen[str]:
    script = textwrap.dedent(
        f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).parents[2])!r})
        from pathlib import Path
        from app.core.drafts import DraftStore
        DraftStore(Path({str(folder)!r})).save("child", None, "Untitled-9", "from the child")
        print("written", flush=True)
        {then}
        """
    )
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_drafts_of_a_killed_process_are_recoverable(tmp_path: Path) -> None:
    folder = tmp_path / "drafts"
    child = _writer(tmp_path, folder, "os._exit(9)")  # dies without any clean-up, like a crash
    assert child.stdout is not None and child.stdout.readline().strip() == "written"
    child.wait(timeout=30)
    child.stdout.close()
    store = DraftStore(folder)
    [draft] = store.recoverable()
    assert (draft.key, draft.text, draft.pid) == ("child", "from the child", child.pid)


def test_drafts_of_another_running_quillpad_are_not_offered(tmp_path: Path) -> None:
    folder = tmp_path / "drafts"
    child = _writer(tmp_path, folder, "time.sleep(60)")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "written"
        store = DraftStore(folder)
        assert [d.key for d in store.list()] == ["child"]
        assert store.recoverable() == []
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    assert [d.key for d in DraftStore(folder).recoverable()] == ["child"]


def test_a_reused_pid_does_not_hide_a_draft(tmp_path: Path) -> None:
    # The pid is alive (it is ours... pretend it is another process) but started at another time.
    store = DraftStore(tmp_path)
    parent = os.getppid()
    (tmp_path / "x.json").write_text(
        json.dumps(
            {
                "version": 1,
                "key": "x",
                "path": None,
                "title": "t",
                "text": "lost",
                "saved_at": 1.0,
                "pid": parent,
                "process_started": 12345.0,
            }
        )
    )
    assert [d.text for d in store.recoverable()] == ["lost"]


def test_draft_is_a_frozen_record() -> None:
    draft = Draft("k", None, "t", "x", 1.0)
    with pytest.raises(AttributeError):
        draft.text = "y"  # type: ignore[misc]
