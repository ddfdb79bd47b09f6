"""Git integration without Qt: repository state, status, diffs, staging and
commits, commit messages from the model, and checkpoints of AI edits.

Everything here imports gitpython lazily through ``gitcmd.load_git`` so that
a machine without git gets ``GitUnavailableError`` (a notice), never a crash.
"""

from app.core.git.checkpoints import (
    CHECKPOINT_REF,
    AIChange,
    Checkpoint,
    CheckpointError,
    CheckpointStore,
    FileState,
    RestoreResult,
)
from app.core.git.commits import ConflictsError, NothingStagedError, commit, commit_paths, has_staged, stage, unstage
from app.core.git.diff import diff_file, diff_worktree, split_by_file, staged_diff
from app.core.git.gitcmd import GIT_MISSING, GitCommandError, GitUnavailableError, git_available
from app.core.git.message import CommitMessage, build_prompt, clean_answer, diff_budget, propose_message
from app.core.git.provenance import provenance_trailer
from app.core.git.repository import GitRepo, RepoState, find_repository, init_repository
from app.core.git.status import FileStatus, StatusMap, read_status

__all__ = [
    "CHECKPOINT_REF",
    "GIT_MISSING",
    "AIChange",
    "Checkpoint",
    "CheckpointError",
    "CheckpointStore",
    "CommitMessage",
    "ConflictsError",
    "FileState",
    "FileStatus",
    "GitCommandError",
    "GitRepo",
    "GitUnavailableError",
    "NothingStagedError",
    "RepoState",
    "RestoreResult",
    "StatusMap",
    "build_prompt",
    "clean_answer",
    "commit",
    "commit_paths",
    "diff_budget",
    "diff_file",
    "diff_worktree",
    "find_repository",
    "git_available",
    "has_staged",
    "init_repository",
    "propose_message",
    "provenance_trailer",
    "read_status",
    "split_by_file",
    "stage",
    "staged_diff",
    "unstage",
]
