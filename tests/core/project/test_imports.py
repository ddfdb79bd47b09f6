"""Imports, their resolution to files, and PageRank centrality."""

from __future__ import annotations

import ast

from app.core.project.imports import (
    ModuleResolver,
    module_keys,
    pagerank,
    python_imports,
    reference_graph,
    text_imports,
)


def test_python_imports_resolve_relative_names_from_the_files_folder() -> None:
    source = "import os\nfrom . import util\nfrom ..base import Thing\nif True:\n    from x.y import z\n"
    names = python_imports(ast.parse(source), "git/objects/commit.py")
    assert names == ["os", "git.objects", "git.objects.util", "git.base", "git.base.Thing", "x.y", "x.y.z"]
    assert python_imports(ast.parse("from .... import far\n"), "a/b.py") == []  # above the project: dropped


def test_other_languages_by_line_scan() -> None:
    assert text_imports("c", '#include "util/str.h"\n#include <stdio.h>\n', "src/main.c") == [
        "src.util.str",
        "util.str",
    ]
    assert text_imports("typescript", "import { a } from './lib/a';\nconst b = require('../b')\n", "web/x.ts") == [
        "web.lib.a",
        "b",
    ]
    assert text_imports("rust", "use crate::engine::Engine;\nmod util;\n", "src/main.rs") == ["engine.Engine", "util"]


def test_module_keys_and_resolution() -> None:
    assert module_keys("pkg/lexers/python.py") == ["pkg.lexers.python", "lexers.python", "python"]
    assert module_keys("pkg/lexers/__init__.py") == ["pkg.lexers", "lexers"]
    resolver = ModuleResolver(["lexers/python.py", "lexers/__init__.py", "util.py", "a/util.py", "README.md"])
    # The project may be the package folder itself: "pygments.lexers.python" still finds lexers/python.py.
    assert resolver.resolve("pygments.lexers.python") == ["lexers/python.py"]
    # "from m import Name" is stored as "m" and "m.Name" (Name may be a module); the name alone resolves nowhere.
    assert resolver.resolve("pygments.lexers.python.PythonLexer") == []
    assert sorted(resolver.resolve("util")) == ["a/util.py", "util.py"]
    assert resolver.resolve("README") == []  # not a source file


def test_pagerank_favours_what_is_imported() -> None:
    imports = {"a.py": ["core"], "b.py": ["core", "a"], "c.py": ["core"]}
    graph = reference_graph(imports, ["a.py", "b.py", "c.py", "core.py", "lonely.py"])
    assert graph == {"a.py": {"core.py"}, "b.py": {"core.py", "a.py"}, "c.py": {"core.py"}}
    ranks = pagerank(graph, ["a.py", "b.py", "c.py", "core.py", "lonely.py"])
    assert max(ranks, key=ranks.__getitem__) == "core.py"
    assert ranks["a.py"] > ranks["b.py"]
    assert abs(sum(ranks.values()) - len(ranks)) < 1e-6  # scaled to a mean of 1
    assert pagerank({}, []) == {}
