"""The built-in tools, each a small function over the plugin API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.api import (
    EditBlock,
    EditTarget,
    ParseResult,
    PluginContext,
    PluginInfo,
    QuillpadError,
    RepoMapAccess,
    SandboxLimits,
    TestRun,
    Tool,
    ToolInvocation,
    ToolResult,
    build_edit_proposal,
    hookimpl,
    project_path,
    run_python,
)

__version__ = "0.1.0"

MAX_FILE_CHARS = 60_000  # a file larger than this is read in ranges
MAX_LISTED = 400


def _root(invocation: ToolInvocation) -> Path:
    if invocation.project is None:
        raise QuillpadError("No project folder is open; open one first.")
    return invocation.project


def _string(arguments: Any, key: str, default: str = "") -> str:
    value = arguments.get(key, default)
    return value if isinstance(value, str) else default


def list_files(invocation: ToolInvocation) -> str:
    """The project's files under a folder (ignored files left out when the index is there)."""
    root = _root(invocation)
    folder = project_path(root, _string(invocation.arguments, "folder", "."))
    if not folder.is_dir():
        raise QuillpadError(f"{_string(invocation.arguments, 'folder')} is not a folder of the project.")
    context = invocation.context
    prefix = folder.relative_to(root.resolve()).as_posix()
    if context is not None and context.project is not None:
        names = sorted(p.as_posix() for p in context.project.files())
    else:
        names = sorted(
            p.relative_to(root.resolve()).as_posix()
            for p in root.resolve().rglob("*")
            if p.is_file() and ".git" not in p.parts
        )
    if prefix not in ("", "."):
        names = [n for n in names if n.startswith(prefix + "/")]
    more = f"\n… and {len(names) - MAX_LISTED} more" if len(names) > MAX_LISTED else ""
    return "\n".join(names[:MAX_LISTED]) + more if names else "(no files)"


def read_file(invocation: ToolInvocation) -> str:
    """A file's text with line numbers, optionally a range of lines."""
    root = _root(invocation)
    requested = _string(invocation.arguments, "path")
    path = project_path(root, requested)
    if not path.is_file():
        raise QuillpadError(f"There is no file {requested} in the project.")
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise QuillpadError(f"{requested} is a binary file; only text files can be read.")
    lines = data.decode("utf-8", errors="replace").splitlines()
    start = int(invocation.arguments.get("start_line", 1) or 1)
    end = int(invocation.arguments.get("end_line", len(lines)) or len(lines))
    start, end = max(1, start), min(len(lines), end)
    out: list[str] = []
    size = 0
    for number in range(start, end + 1):
        line = f"{number:>5}  {lines[number - 1]}"
        size += len(line) + 1
        if size > MAX_FILE_CHARS:
            out.append(f"[stopped at line {number - 1} of {len(lines)}: read the rest with start_line={number}]")
            break
        out.append(line)
    return "\n".join(out) if out else "(empty file)"


def search_project(invocation: ToolInvocation) -> str:
    """The index's best matches for a query."""
    context = invocation.context
    if context is None or context.project is None:
        raise QuillpadError("The project index is not available; open a project folder first.")
    query = _string(invocation.arguments, "query")
    k = int(invocation.arguments.get("k", 8) or 8)
    hits = context.project.search(query, k)
    if not hits:
        return f"No matches for {query!r}."
    return "\n\n".join(f"{hit.path.as_posix()}:\n{hit.text}" for hit in hits)


def repo_map(invocation: ToolInvocation) -> str:
    """The repository map: files and their main symbols."""
    context = invocation.context
    project = context.project if context is not None else None
    if project is None or not isinstance(project, RepoMapAccess):
        raise QuillpadError("The repository map needs the project index; open a project folder first.")
    return project.repo_map(_string(invocation.arguments, "query"), 2048) or "(the map is empty)"


def git_status(invocation: ToolInvocation) -> str:
    """Changed and untracked files."""
    git = invocation.context.git if invocation.context is not None else None
    if git is None:
        raise QuillpadError("The project is not in a git repository.")
    rows = git.status()
    return "\n".join(f"{code} {path}" for code, path in rows) if rows else "Nothing has changed since the last commit."


def git_diff(invocation: ToolInvocation) -> str:
    """Unstaged changes, for one file or all; ``staged`` for what the next commit records."""
    git = invocation.context.git if invocation.context is not None else None
    if git is None:
        raise QuillpadError("The project is not in a git repository.")
    if invocation.arguments.get("staged"):
        return git.staged_diff() or "(nothing staged)"
    path = _string(invocation.arguments, "path")
    target = project_path(git.root, path) if path else None
    return git.diff(target) or "(no changes)"


def run_tests(invocation: ToolInvocation) -> str:
    """The project's pytest suite (or the given tests); Stop ends pytest and its children."""
    root = _root(invocation)
    args = invocation.arguments.get("tests", [])
    tests = [str(a) for a in args] if isinstance(args, list) else []
    run = TestRun(root, tests, timeout=600)
    finished = threading.Event()

    def watch() -> None:  # the token is set by Stop and by the tool's time limit
        while not finished.wait(0.1):
            if invocation.token.cancelled:
                run.stop()
                return

    watcher = threading.Thread(target=watch, name="run_tests stop", daemon=True)
    watcher.start()
    try:
        result = run.run()
    finally:
        finished.set()
        watcher.join()
    counts = ", ".join(f"{n} {kind}" for kind, n in result.report.counts.items() if n) or "no tests ran"
    lines = [f"Tests: {counts} ({result.seconds:.1f} s)."]
    if result.message:
        lines.append(result.message)
    for case in result.report.problems[:10]:
        lines.append(f"- {case.nodeid}: {case.message.splitlines()[0] if case.message else case.outcome}")
    if result.report.problems:
        lines.append("Output (end):\n" + result.output[-4000:])
    return "\n".join(lines)


def run_sandbox(invocation: ToolInvocation) -> str:
    """Python code in the sandbox: no network, limited CPU, memory and time."""
    code = _string(invocation.arguments, "code")
    # Stop and the tool's time limit end the program (and its children) through the token.
    result = run_python(
        code, limits=SandboxLimits(wall_seconds=60.0, cpu_seconds=30), stop_requested=lambda: invocation.token.cancelled
    )
    parts = [f"exit code: {result.exit_code if result.exit_code is not None else result.signal}"]
    if result.timed_out:
        parts.append("the time limit was reached")
    parts.extend(result.notes)
    if result.stdout:
        parts.append("stdout:\n" + result.stdout)
    if result.stderr:
        parts.append("stderr:\n" + result.stderr)
    return "\n".join(parts)


def propose_edit(invocation: ToolInvocation) -> ToolResult:
    """Replace ``search`` with ``replace`` in a file (or create it with ``content``), for the user's review."""
    root = _root(invocation)
    requested = _string(invocation.arguments, "path")
    path = project_path(root, requested)
    name = path.relative_to(root.resolve()).as_posix()
    if "content" in invocation.arguments and not path.exists():
        block = EditBlock(name, (), tuple(_string(invocation.arguments, "content").splitlines()), whole_file=True)
    else:
        search = _string(invocation.arguments, "search")
        replace = _string(invocation.arguments, "replace")
        if not search:
            raise QuillpadError("Give the lines to change as search (copied exactly from the file) and replace.")
        block = EditBlock(name, tuple(search.splitlines()), tuple(replace.splitlines()))
    proposal = build_edit_proposal(ParseResult((block,), (), ()), EditTarget(None, root.resolve()))
    if proposal.empty:
        notes = " ".join(proposal.notes) or "it would change nothing"
        raise QuillpadError(f"The edit could not be made ({notes}).")
    return ToolResult(f"Proposed an edit of {name}:\n{proposal.summary()}", proposal)


def _schema(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


_PATH = {"type": "string", "description": "a path relative to the project folder"}


def builtin_tools() -> list[Tool]:
    """The tools, with the schemas the model reads."""
    tool: Callable[..., Tool] = Tool
    return [
        tool(
            "list_files",
            "List the project's files (paths relative to the project folder).",
            list_files,
            _schema({"folder": {**_PATH, "description": "only files under this folder"}}),
        ),
        tool(
            "read_file",
            "Read a text file of the project, with line numbers; large files in ranges.",
            read_file,
            _schema(
                {"path": _PATH, "start_line": {"type": "integer", "minimum": 1}, "end_line": {"type": "integer"}},
                ("path",),
            ),
        ),
        tool(
            "search_project",
            "Search the project's code index; returns the best matching pieces with their files.",
            search_project,
            _schema({"query": {"type": "string"}, "k": {"type": "integer", "minimum": 1, "maximum": 20}}, ("query",)),
        ),
        tool(
            "repo_map",
            "Show the repository map: the project's files and their main classes and functions.",
            repo_map,
            _schema({"query": {"type": "string", "description": "rank the map for this topic"}}),
        ),
        tool("git_status", "Show which files changed since the last commit.", git_status, _schema({})),
        tool(
            "git_diff",
            "Show the uncommitted changes (of one file, or all; staged=true for the staged ones).",
            git_diff,
            _schema({"path": _PATH, "staged": {"type": "boolean"}}),
        ),
        tool(
            "run_tests",
            "Run the project's tests with pytest (all, or the given test ids) and report what failed.",
            run_tests,
            _schema({"tests": {"type": "array", "items": {"type": "string"}}}),
            acting=True,
            timeout=600.0,
        ),
        tool(
            "run_python",
            "Run Python code in a sandbox without network access; returns its output.",
            run_sandbox,
            _schema({"code": {"type": "string"}}, ("code",)),
            acting=True,
        ),
        tool(
            "propose_edit",
            "Propose a change to a file: replace the exact lines `search` with `replace` "
            "(or create a new file with `content`). The user reviews it; nothing is written without their accept.",
            propose_edit,
            _schema(
                {
                    "path": _PATH,
                    "search": {"type": "string"},
                    "replace": {"type": "string"},
                    "content": {"type": "string"},
                },
                ("path",),
            ),
            acting=True,
        ),
    ]


class AgentToolsPlugin:
    """Contributes the built-in tools."""

    info = PluginInfo(
        name="Agent tools",
        version=__version__,
        description="Tools the model can use in agent mode: files, search, repo map, git, tests, sandbox, edits.",
    )

    @hookimpl
    def quillpad_tools(self, context: PluginContext) -> list[Tool]:
        return builtin_tools()
