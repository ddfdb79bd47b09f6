"""Which paths of a project are left out of the index and the watcher.

Three sources decide, all on paths relative to the project root with ``/``
separators:

- a default list of folders no one wants in a model's context (version
  control, dependencies, virtual environments, caches, build outputs) and
  of editor and generated files;
- the project's ``.gitignore`` files (any folder's, with git's precedence:
  a deeper file overrides a shallower one, the last matching line wins)
  and ``.git/info/exclude``, matched by pathspec's git-compatible rules;
- file names that are binary by their extension (images, archives, compiled
  objects, model weights), so such files are never even opened.

Binary content without a telling extension and the size limit are decided
when a file is read (``textread``), not here. As in git, nothing inside an
ignored folder can be re-included, which is what lets the scanner and the
watcher skip whole trees (a ``node_modules`` is never walked).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path

from pathspec import GitIgnoreSpec

log = logging.getLogger(__name__)

# Folders skipped wherever they are. Kept to names that are almost never source code.
DEFAULT_IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "node_modules",
        "bower_components",
        ".venv",
        "venv",
        "__pycache__",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        ".nox",
        ".eggs",
        "site-packages",
        "dist-packages",
        ".next",
        ".nuxt",
        ".gradle",
        ".idea",
        ".cache",
        "htmlcov",
        ".ipynb_checkpoints",
        ".terraform",
    }
)
DEFAULT_IGNORED_DIR_PATTERNS = ("*.egg-info",)
# Build outputs, except where the name is a Python package's (``pip/_internal/operations/build/``).
BUILD_OUTPUT_DIRS = frozenset({"build", "dist", "target"})
PACKAGE_MARKER = "__init__.py"
# A folder holding one of these is a virtual environment or conda environment, whatever its name.
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")

# Editor leftovers, Quillpad's own atomic-save temporaries, and generated bundles.
DEFAULT_IGNORED_FILE_PATTERNS = (
    "*.pyc",
    "*.pyo",
    "*.quillpad-tmp",
    "*.swp",
    "*.swo",
    "*~",
    ".#*",
    ".DS_Store",
    "*.min.js",
    "*.min.css",
    "*.map",
)

BINARY_EXTENSIONS = frozenset(
    ext
    for group in (
        "png jpg jpeg gif bmp ico icns webp tif tiff psd xcf heic avif",
        "pdf doc docx xls xlsx ppt pptx odt ods odp epub",
        "zip gz tgz bz2 xz lz lzma zst 7z rar tar jar war ear whl egg apk dmg iso deb rpm",
        "so dylib dll exe o obj a lib pyd class pyc pyo wasm bin",
        "woff woff2 ttf otf eot",
        "mp3 mp4 m4a wav ogg oga flac aac au avi mov mkv webm wmv",
        "sqlite sqlite3 db mdb",
        "gguf safetensors pt pth ckpt onnx npy npz pkl pickle parquet feather h5 hdf5 arrow",
    )
    for ext in group.split()
)

_GITIGNORE = ".gitignore"


def _compile_globs(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


_DIR_GLOBS = _compile_globs(DEFAULT_IGNORED_DIR_PATTERNS)
_FILE_GLOBS = _compile_globs(DEFAULT_IGNORED_FILE_PATTERNS)


def is_binary_name(name: str) -> bool:
    """True for file names whose extension says binary (``.png``, ``.so``, ``.gguf``...)."""
    _, dot, ext = name.rpartition(".")
    return bool(dot) and ext.lower() in BINARY_EXTENSIONS


def _parent(rel: str) -> str:
    return rel.rpartition("/")[0]


class IgnoreRules:
    """The ignore decisions for one project root; cheap to ask, cached, thread-safe.

    ``dir_ignored``/``file_ignored`` judge one entry assuming its folders are
    not ignored (the scanner prunes as it walks); ``is_ignored`` also checks
    every folder above (for paths that arrive from watcher events). Call
    ``reload`` when a ``.gitignore`` changes.
    """

    def __init__(self, root: Path, excluded: Iterable[str] = ()) -> None:
        """Rules for the project at ``root``; ``excluded`` folders (relative) are always ignored."""
        self.root = root
        self.excluded = frozenset(excluded)
        self._lock = threading.Lock()
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        self._dirs: dict[str, str | None] = {}  # folder -> reason it (or a parent) is ignored, None if not

    def reload(self) -> None:
        """Forget every cached ``.gitignore`` and decision (a rules file changed)."""
        with self._lock:
            self._specs.clear()
            self._dirs.clear()

    def forget_folders(self) -> None:
        """Forget cached folder decisions (kept ``.gitignore`` files stay): a folder may have become a
        virtual environment since it was judged."""
        with self._lock:
            self._dirs.clear()

    # --- the leaf checks ------------------------------------------------------------------------------------

    def dir_ignored(self, rel: str) -> bool:
        """Whether the folder ``rel`` is ignored by its own name or a rules file (parents not checked)."""
        return self._dir_reason(rel) is not None

    def file_ignored(self, rel: str) -> bool:
        """Whether the file ``rel`` is ignored by name, extension or a rules file (parents not checked)."""
        return self._file_reason(rel) is not None

    def _dir_reason(self, rel: str) -> str | None:
        name = rel.rpartition("/")[2]
        if rel in self.excluded:
            return "it holds Quillpad's own index"
        if name in DEFAULT_IGNORED_DIRS or _DIR_GLOBS.fullmatch(name):
            return f"{name} folders are never indexed"
        if name in BUILD_OUTPUT_DIRS and not os.path.lexists(self.root / rel / PACKAGE_MARKER):
            return f"{name} folders hold build output, which is not indexed"
        if any(os.path.lexists(self.root / rel / marker) for marker in ENVIRONMENT_MARKERS):
            return "it is inside a virtual environment"
        if self._gitignored(rel, is_dir=True):
            return "it is ignored by a .gitignore file"
        return None

    def _file_reason(self, rel: str) -> str | None:
        name = rel.rpartition("/")[2]
        if _FILE_GLOBS.fullmatch(name):
            return "it is an editor or generated file"
        if is_binary_name(name):
            return "it is a binary file"
        if self._gitignored(rel, is_dir=False):
            return "it is ignored by a .gitignore file"
        return None

    # --- whole-path checks ----------------------------------------------------------------------------------

    def folder_reason(self, rel_dir: str) -> str | None:
        """Why the folder ``rel_dir`` or one above it is ignored, or None ("" is the root, never ignored)."""
        if not rel_dir:
            return None
        with self._lock:
            if rel_dir in self._dirs:
                return self._dirs[rel_dir]
        reason = self.folder_reason(_parent(rel_dir))
        if reason is None:
            reason = self._dir_reason(rel_dir)
        with self._lock:
            if len(self._dirs) > 100_000:  # a bounded cache: a huge tree must not grow it for ever
                self._dirs.clear()
            self._dirs[rel_dir] = reason
        return reason

    def reason(self, rel: str, *, is_dir: bool) -> str | None:
        """Why ``rel`` is left out (one clause, e.g. "it is ignored by a .gitignore file"), or None."""
        if is_dir:
            return self.folder_reason(rel)
        return self.folder_reason(_parent(rel)) or self._file_reason(rel)

    def is_ignored(self, rel: str, *, is_dir: bool) -> bool:
        """Whether ``rel`` or any folder above it is ignored."""
        return self.reason(rel, is_dir=is_dir) is not None

    # --- .gitignore -----------------------------------------------------------------------------------------

    def _spec(self, rel_dir: str) -> GitIgnoreSpec | None:
        with self._lock:
            if rel_dir in self._specs:
                return self._specs[rel_dir]
        folder = self.root / rel_dir if rel_dir else self.root
        sources = [folder / _GITIGNORE]
        if not rel_dir:
            sources.insert(0, folder / ".git" / "info" / "exclude")
        lines: list[str] = []
        for source in sources:
            try:
                with open(source, encoding="utf-8", errors="replace") as handle:
                    lines += handle.read(1_000_000).splitlines()
            except OSError:
                continue
        spec: GitIgnoreSpec | None = None
        if lines:
            try:
                spec = GitIgnoreSpec.from_lines(lines)
            except Exception:  # a malformed pattern must not stop indexing; git would skip it too
                log.warning("unusable ignore rules in %s", folder, exc_info=True)
            if spec is not None and len(spec) == 0:
                spec = None
        with self._lock:
            self._specs[rel_dir] = spec
        return spec

    def _gitignored(self, rel: str, *, is_dir: bool) -> bool:
        parts = rel.split("/")
        # Deepest rules file first: the first one with an opinion decides.
        for depth in range(len(parts) - 1, -1, -1):
            base = "/".join(parts[:depth])
            spec = self._spec(base)
            if spec is None:
                continue
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            result = spec.check_file(sub)
            if result.include is not None:
                return bool(result.include)
        return False


def is_rules_file(rel: str) -> bool:
    """True for the files whose change alters the ignore rules (``.gitignore`` in any folder)."""
    return rel.rpartition("/")[2] == _GITIGNORE
