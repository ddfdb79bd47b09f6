"""What a file imports, and the reference graph of a project built from it.

At index time each file's imports are stored as dotted names (Python's
``import``/``from`` through ``ast``, relative imports made absolute from the
file's own folder; ``#include "..."``, JavaScript/TypeScript ``import``/
``require`` of relative paths, Go imports and Rust ``use``/``mod`` through a
line scan). At query time a name is resolved to the indexed files whose path
ends in it (``pygments.lexers.python`` finds ``lexers/python.py`` whether the
project is the package folder or the folder above it), and PageRank over the
resulting file graph gives each file a centrality: what many files import,
directly or indirectly, is what a question is most likely about (the prior
Aider's repository map uses).
"""

from __future__ import annotations

import ast
import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

MAX_IMPORTS = 400  # per file; generated files can import thousands of names
_PY_SUFFIXES = (".py", ".pyi", ".pyw")
_SOURCE_SUFFIX = re.compile(r"\.(py|pyi|pyw|js|jsx|mjs|cjs|ts|tsx|mts|cts|h|hpp|hh|c|cc|cpp|go|rs|java)$")
_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
_JS_IMPORT = re.compile(r"""(?:\bfrom\s+|\bimport\s+|\brequire\s*\(\s*)['"](\.{1,2}/[^'"]+)['"]""")
_GO_IMPORT = re.compile(r'^\s*(?:import\s+)?(?:[A-Za-z_.]+\s+)?"([A-Za-z0-9_./-]+)"\s*$', re.MULTILINE)
_RUST_USE = re.compile(
    r"^\s*(?:pub\s+)?(?:use|mod)\s+((?:crate|super|self)?(?:::)?[A-Za-z_][A-Za-z0-9_:]*)", re.MULTILINE
)


def _package_parts(path: str) -> list[str]:
    """The dotted package of a file, from its folders."""
    return [p for p in path.split("/")[:-1] if p]


def python_imports(tree: ast.Module, path: str) -> list[str]:
    """Imported module names of a parsed Python file; ``from m import a`` also gives ``m.a`` (a may be a module)."""
    names: dict[str, None] = {}
    package = _package_parts(path)
    for node in _import_statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.setdefault(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1
                if up > len(package):
                    continue
                base = package[: len(package) - up]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module:
                names.setdefault(module)
            for alias in node.names:
                if alias.name != "*":
                    names.setdefault(f"{module}.{alias.name}" if module else alias.name)
        if len(names) >= MAX_IMPORTS:
            break
    return list(names)


def _import_statements(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Imports at module level, including inside ``if``/``try``/``with`` blocks (``TYPE_CHECKING``, optional
    dependencies); imports inside functions are left out: walking every node of every file costs more than
    they add to the graph."""
    pending = list(body)
    while pending:
        node = pending.pop(0)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            pending.extend(node.body)
            pending.extend(getattr(node, "orelse", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
            pending.extend(getattr(node, "finalbody", []))


def _path_to_dotted(path: str) -> str:
    return _SOURCE_SUFFIX.sub("", path).strip("/").replace("/", ".")


def text_imports(language: str | None, text: str, path: str) -> list[str]:
    """Imports of a non-Python file found by a line scan, as dotted names ([] for other languages)."""
    folder = posixpath.dirname(path)
    found: list[str] = []
    if language in ("c", "cpp"):
        found = [_path_to_dotted(posixpath.normpath(posixpath.join(folder, m))) for m in _INCLUDE.findall(text)]
        found += [_path_to_dotted(m) for m in _INCLUDE.findall(text)]
    elif language in ("javascript", "typescript", "tsx"):
        found = [_path_to_dotted(posixpath.normpath(posixpath.join(folder, m))) for m in _JS_IMPORT.findall(text)]
    elif language == "go":
        found = [m.replace("/", ".") for m in _GO_IMPORT.findall(text[:20000])]
    elif language == "rust":
        for raw in _RUST_USE.findall(text):
            parts = [p for p in raw.split("::") if p]
            if parts and parts[0] in ("crate", "self", "super"):
                parts = parts[1:]
            if parts:
                found.append(".".join(parts))
    return [name for name in dict.fromkeys(found) if name and not name.startswith(".")][:MAX_IMPORTS]


def module_keys(path: str) -> list[str]:
    """Every dotted suffix a file can be imported by: ``a/b/c.py`` -> ``a.b.c``, ``b.c``, ``c``."""
    stem = _SOURCE_SUFFIX.sub("", path)
    parts = [p for p in stem.split("/") if p]
    if path.endswith(tuple(f"/__init__{s}" for s in _PY_SUFFIXES)) or path in ("__init__.py", "__init__.pyi"):
        parts = parts[:-1]
    elif parts and parts[-1] in ("index", "mod", "lib"):  # JS index files and Rust mod.rs/lib.rs name their folder
        parts = parts[:-1] if len(parts) > 1 else parts
    return [".".join(parts[i:]) for i in range(len(parts))]


class ModuleResolver:
    """Maps dotted names to the indexed files they can mean."""

    MAX_TARGETS = 3  # a short name that many files end in ("util") says nothing

    def __init__(self, paths: Iterable[str]) -> None:
        """Index every file by each dotted suffix of its path (only source files)."""
        self._by_key: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            if _SOURCE_SUFFIX.search(path):
                for key in module_keys(path):
                    self._by_key[key].append(path)

    def resolve(self, name: str) -> list[str]:
        """The files ``name`` most specifically refers to: the longest dotted suffix that names indexed files."""
        parts = name.split(".")
        for start in range(len(parts)):
            targets = self._by_key.get(".".join(parts[start:]))
            if targets:
                return targets if len(targets) <= self.MAX_TARGETS else []
        return []


def reference_graph(imports: Mapping[str, Sequence[str]], paths: Iterable[str]) -> dict[str, set[str]]:
    """For each importing file, the files it refers to (no self-loops)."""
    resolver = ModuleResolver(paths)
    graph: dict[str, set[str]] = {}
    for source, names in imports.items():
        targets: set[str] = set()
        for name in names:
            targets.update(resolver.resolve(name))
        targets.discard(source)
        if targets:
            graph[source] = targets
    return graph


def pagerank(graph: Mapping[str, set[str]], nodes: Iterable[str], iterations: int = 30) -> dict[str, float]:
    """PageRank (damping 0.85) of every node, scaled so the mean is 1.0; dangling nodes spread evenly."""
    every = set(nodes)
    for source, targets in graph.items():
        every.add(source)
        every.update(targets)
    count = len(every)
    if not count:
        return {}
    ranks = dict.fromkeys(every, 1.0 / count)
    damping = 0.85
    for _ in range(iterations):
        dangling = sum(ranks[n] for n in every if not graph.get(n))
        base = (1.0 - damping) / count + damping * dangling / count
        fresh = dict.fromkeys(every, base)
        for source, targets in graph.items():
            share = damping * ranks[source] / len(targets)
            for target in targets:
                fresh[target] += share
        ranks = fresh
    return {node: rank * count for node, rank in ranks.items()}
