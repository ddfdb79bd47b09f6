"""The open ``Project`` seen through the plugin API's ``ProjectAccess`` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.project import Project

CHARS_PER_TOKEN = 3.5  # the project's own estimate, kept in step with it


@dataclass(frozen=True)
class ProjectHit:
    """A search result with the path as the plugin API expects it."""

    path: Path
    start_line: int
    end_line: int
    text: str
    score: float


class ProjectAccessAdapter:
    """Plugins' view of the open project (read-only)."""

    def __init__(self, project: Project) -> None:
        self.project = project

    @property
    def root(self) -> Path:
        return self.project.root

    def files(self) -> list[Path]:
        return [Path(path) for path in self.project.files()]

    def search(self, query: str, k: int = 8) -> list[ProjectHit]:
        return [
            ProjectHit(Path(hit.path), hit.start_line, hit.end_line, hit.text, hit.score)
            for hit in self.project.search(query, k)
        ]

    def assemble_context(self, query: str, max_chars: int) -> str:
        budget = max(64, int(max_chars / CHARS_PER_TOKEN))
        return self.project.assemble_context(query, current_file=None, selection=None, budget_tokens=budget).render()

    def repo_map(self, query: str = "", budget_tokens: int = 1024) -> str:
        return self.project.repo_map(query, budget_tokens=budget_tokens)
