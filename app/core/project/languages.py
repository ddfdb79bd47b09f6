"""The language of a file by its name, for outlines, chunking and code fences."""

from __future__ import annotations

_BY_EXTENSION = {
    "py": "python",
    "pyi": "python",
    "pyw": "python",
    "js": "javascript",
    "mjs": "javascript",
    "cjs": "javascript",
    "jsx": "javascript",
    "ts": "typescript",
    "mts": "typescript",
    "cts": "typescript",
    "tsx": "tsx",
    "go": "go",
    "rs": "rust",
    "c": "c",
    # C++'s grammar reads C headers well and also understands C++ ones.
    "h": "cpp",
    "cc": "cpp",
    "cpp": "cpp",
    "cxx": "cpp",
    "c++": "cpp",
    "hh": "cpp",
    "hpp": "cpp",
    "hxx": "cpp",
    "h++": "cpp",
    "ipp": "cpp",
    "java": "java",
    "md": "markdown",
    "markdown": "markdown",
}

# Names for code fences where they differ from the language name.
_FENCE = {"cpp": "cpp", "tsx": "tsx", "markdown": "markdown"}
_FENCE_BY_EXTENSION = {
    "toml": "toml",
    "json": "json",
    "yaml": "yaml",
    "yml": "yaml",
    "sh": "bash",
    "bash": "bash",
    "html": "html",
    "css": "css",
    "sql": "sql",
    "rst": "rst",
    "txt": "",
    "cfg": "ini",
    "ini": "ini",
    "xml": "xml",
}


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def language_for(path: str) -> str | None:
    """``"python"``, ``"rust"``... for a file name, None when there is no outline support."""
    return _BY_EXTENSION.get(_extension(path))


def fence_language(path: str) -> str:
    """The info string for a Markdown code fence holding this file ("" when unknown)."""
    language = language_for(path)
    if language is not None:
        return _FENCE.get(language, language)
    return _FENCE_BY_EXTENSION.get(_extension(path), "")
