"""An AI edit applied headless: checkpoint just before, exact undo, automatic commit with provenance."""

from __future__ import annotations

from pathlib import Path

from app.core.edits.commit import apply_proposal
from app.core.edits.proposal import EditProposal, make_change
from app.core.engine.profiles import load_profiles
from app.core.git import CheckpointStore, find_repository
from app.core.git.ai_edits import checkpoint_before_apply, commit_applied
from app.core.git.provenance import model_settings, provenance_trailer
from tests.core.git.conftest import GitRunner


def ai_proposal(root: Path) -> EditProposal:
    """Change app.py and create pkg/new.py."""
    old = (root / "app.py").read_text()
    changes = (
        make_change("app.py", root / "app.py", old, "print('edited by AI')\n", scan=False),
        make_change("pkg/new.py", root / "pkg" / "new.py", None, "NEW = 1\n", scan=False),
    )
    return EditProposal(changes, (), root)


def test_apply_checkpoint_undo_and_auto_commit(repo_dir: Path, tmp_path: Path, git: GitRunner) -> None:
    store = CheckpointStore.for_folder(repo_dir, tmp_path / "data")
    proposal = ai_proposal(repo_dir)
    accepted = proposal.accept_all()
    checkpoint = checkpoint_before_apply(store, proposal, accepted, "tiny.gguf")
    assert checkpoint is not None and checkpoint.label == "AI edit of app.py, pkg/new.py"
    applied = apply_proposal(proposal, accepted)
    repo = find_repository(repo_dir)
    assert repo is not None
    profile = next(p for p in load_profiles() if p.name == "Qwen3")
    values = model_settings(profile, {"temperature": 0.3}, thinking=True, seed=-1, context_length=4096)
    trailer = provenance_trailer("/models/Qwen3-8B-Q4_K_M.gguf", values)
    assert trailer.startswith("Generated-by: Quillpad (model Qwen3-8B-Q4_K_M.gguf, temperature 0.3, top_p 0.95")
    assert "thinking on, seed random, context 4096)" in trailer
    commit_id = commit_applied(repo, applied, trailer)
    assert commit_id is not None
    body = git(repo_dir, "log", "-1", "--format=%B")
    assert body.startswith("AI edit: app.py, pkg/new.py") and trailer in body
    assert git(repo_dir, "log", "-1", "--format=%(trailers:key=Generated-by,valueonly)").strip().startswith("Quillpad")
    assert git(repo_dir, "status", "--porcelain=v1") == ""
    result = store.undo_last()
    assert result.restored == ("app.py",) and result.deleted == ("pkg/new.py",)
    assert (repo_dir / "app.py").read_text() == "print('hello')\n" and not (repo_dir / "pkg").exists()


def test_other_staged_work_is_left_out_of_the_auto_commit(repo_dir: Path, git: GitRunner) -> None:
    (repo_dir / "lib" / "util.py").write_text("def f():\n    return 2\n")
    git(repo_dir, "add", "lib/util.py")
    proposal = ai_proposal(repo_dir)
    applied = apply_proposal(proposal, proposal.accept_all())
    repo = find_repository(repo_dir)
    assert repo is not None
    commit_applied(repo, applied, provenance_trailer(None, {}))
    assert git(repo_dir, "show", "--name-only", "--format=", "HEAD").split() == ["app.py", "pkg/new.py"]
    assert git(repo_dir, "diff", "--cached", "--name-only") == "lib/util.py\n"  # still staged, not committed


def test_the_auto_commit_setting_defaults_off_and_is_kept(tmp_path: Path) -> None:
    from app.core.paths import app_paths
    from app.core.settings import Settings, load_settings, save_settings

    assert Settings().git.auto_commit_ai_edits is False
    paths = app_paths()
    settings = Settings()
    settings.git.auto_commit_ai_edits = True
    save_settings(paths, settings)
    assert load_settings(paths).settings.git.auto_commit_ai_edits is True


def test_trailer_names_a_server_model_as_it_is() -> None:
    # A model server's model has no file: keep its full name and host.
    trailer = provenance_trailer("Qwen/Qwen3-235B-A22B @ gpu.example", {"thinking": "on"})
    assert trailer == "Generated-by: Quillpad (model Qwen/Qwen3-235B-A22B @ gpu.example, thinking on)"
