"""Definitions in JavaScript, TypeScript, Go, Rust, C, C++ and Java, through tree-sitter.

The grammars come from the ``tree-sitter-<language>`` packages (compiled
into their wheels, so nothing is fetched at run time). One table per
language says which syntax nodes are definitions at the top level, which are
members of a top-level type, which only wrap a definition (``export``,
``template<...>``: the definition starts where the wrapper does) and which
only contain definitions (namespaces, ``extern "C"`` blocks). A signature is
the definition's source up to its body, on one line.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from tree_sitter import Language, Node, Parser

from app.core.project.symbols import Symbol, clip_signature

_FUNCTION_VALUES = frozenset(
    {"arrow_function", "function_expression", "function", "generator_function", "class", "class_expression"}
)


@dataclass(frozen=True)
class _Grammar:
    module: str
    loader: str
    top: dict[str, str]  # node type -> kind, at the top level
    members: dict[str, str] = field(default_factory=dict)  # node type -> kind, inside a top-level type's body
    wrappers: frozenset[str] = frozenset()  # hold one definition and start it (export, template)
    containers: frozenset[str] = frozenset()  # hold definitions at the same level (namespace, extern "C")
    with_members: frozenset[str] = frozenset()  # top-level kinds whose body holds members


_JS_TOP = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "class_declaration": "class",
    "lexical_declaration": "function",  # only when the value is a function or class; see _classify
    "variable_declaration": "function",
}
_JS_MEMBERS = {"method_definition": "method"}
_TS_TOP = {
    **_JS_TOP,
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "type_alias_declaration": "type",
    "enum_declaration": "enum",
    "internal_module": "namespace",
    "module": "namespace",
    "function_signature": "function",
}
_TS_MEMBERS = {**_JS_MEMBERS, "abstract_method_signature": "method", "method_signature": "method"}
_C_TOP = {
    "function_definition": "function",
    "declaration": "function",  # only prototypes; see _classify
    "struct_specifier": "struct",
    "union_specifier": "union",
    "enum_specifier": "enum",
    "type_definition": "type",
}
_CPP_TOP = {**_C_TOP, "class_specifier": "class", "concept_definition": "concept"}
_CPP_MEMBERS = {
    "function_definition": "method",
    "declaration": "method",
    "field_declaration": "method",
    "class_specifier": "class",
    "struct_specifier": "struct",
}

GRAMMARS: dict[str, _Grammar] = {
    "javascript": _Grammar(
        "tree_sitter_javascript",
        "language",
        _JS_TOP,
        _JS_MEMBERS,
        wrappers=frozenset({"export_statement"}),
        with_members=frozenset({"class"}),
    ),
    "typescript": _Grammar(
        "tree_sitter_typescript",
        "language_typescript",
        _TS_TOP,
        _TS_MEMBERS,
        wrappers=frozenset({"export_statement", "ambient_declaration"}),
        containers=frozenset({"expression_statement"}),
        with_members=frozenset({"class", "interface"}),
    ),
    "tsx": _Grammar(
        "tree_sitter_typescript",
        "language_tsx",
        _TS_TOP,
        _TS_MEMBERS,
        wrappers=frozenset({"export_statement", "ambient_declaration"}),
        containers=frozenset({"expression_statement"}),
        with_members=frozenset({"class", "interface"}),
    ),
    "go": _Grammar(
        "tree_sitter_go",
        "language",
        {"function_declaration": "function", "method_declaration": "method", "type_declaration": "type"},
    ),
    "rust": _Grammar(
        "tree_sitter_rust",
        "language",
        {
            "function_item": "function",
            "struct_item": "struct",
            "enum_item": "enum",
            "union_item": "union",
            "trait_item": "trait",
            "impl_item": "impl",
            "mod_item": "module",
            "type_item": "type",
            "macro_definition": "macro",
        },
        {"function_item": "method", "function_signature_item": "method"},
        with_members=frozenset({"trait", "impl", "module"}),
    ),
    "c": _Grammar(
        "tree_sitter_c",
        "language",
        _C_TOP,
        containers=frozenset({"linkage_specification", "declaration_list", "preproc_ifdef", "preproc_if"}),
    ),
    "cpp": _Grammar(
        "tree_sitter_cpp",
        "language",
        _CPP_TOP,
        _CPP_MEMBERS,
        wrappers=frozenset({"template_declaration"}),
        containers=frozenset(
            {"namespace_definition", "linkage_specification", "declaration_list", "preproc_ifdef", "preproc_if"}
        ),
        with_members=frozenset({"class", "struct"}),
    ),
    "java": _Grammar(
        "tree_sitter_java",
        "language",
        {
            "class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "record",
            "annotation_type_declaration": "annotation",
        },
        {
            "method_declaration": "method",
            "constructor_declaration": "method",
            "class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "record",
        },
        with_members=frozenset({"class", "interface", "enum", "record"}),
    ),
}

_languages: dict[str, Language] = {}
_languages_lock = threading.Lock()
_local = threading.local()


def _language(name: str) -> Language:
    with _languages_lock:
        language = _languages.get(name)
        if language is None:
            grammar = GRAMMARS[name]
            loader: Callable[[], object] = getattr(importlib.import_module(grammar.module), grammar.loader)
            language = Language(loader())
            _languages[name] = language
        return language


def _parser(name: str) -> Parser:
    # Parsers are not thread-safe; each thread keeps its own.
    parsers: dict[str, Parser] | None = getattr(_local, "parsers", None)
    if parsers is None:
        parsers = _local.parsers = {}
    parser = parsers.get(name)
    if parser is None:
        parser = parsers[name] = Parser(_language(name))
    return parser


def _text(source: bytes, node: Node) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", errors="replace")


def _innermost_declarator(node: Node) -> Node | None:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        deeper = declarator.child_by_field_name("declarator")
        if deeper is None:
            return declarator
        declarator = deeper
    return None


def _has_function_declarator(node: Node) -> bool:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None:
        if declarator.type == "function_declarator":
            return True
        declarator = declarator.child_by_field_name("declarator")
    return False


def _function_value_declarator(node: Node) -> Node | None:
    """For ``const f = () => ...``: the declarator whose value is a function or class."""
    for child in node.named_children:
        if child.type == "variable_declarator":
            value = child.child_by_field_name("value")
            if value is not None and value.type in _FUNCTION_VALUES:
                return child
    return None


def _name(source: bytes, node: Node) -> str | None:
    if node.type == "impl_item":
        target = node.child_by_field_name("type")
        trait = node.child_by_field_name("trait")
        if target is None:
            return None
        name = _text(source, target)
        return f"{_text(source, trait)} for {name}" if trait is not None else name
    if node.type in ("lexical_declaration", "variable_declaration"):
        declarator = _function_value_declarator(node)
        name_node = declarator.child_by_field_name("name") if declarator is not None else None
        return _text(source, name_node) if name_node is not None else None
    name_node = node.child_by_field_name("name")
    if name_node is None and node.type in ("type_spec", "type_definition"):
        name_node = node.child_by_field_name("declarator") if node.type == "type_definition" else None
    if name_node is None:
        name_node = _innermost_declarator(node)
    return _text(source, name_node) if name_node is not None else None


def _signature(source: bytes, node: Node, start_byte: int) -> str:
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None else node.end_byte
    if node.type in ("lexical_declaration", "variable_declaration"):
        declarator = _function_value_declarator(node)
        value = declarator.child_by_field_name("value") if declarator is not None else None
        value_body = value.child_by_field_name("body") if value is not None else None
        if value_body is not None:
            end = value_body.start_byte
    text = source[start_byte:end].decode("utf-8", errors="replace").strip()
    return clip_signature(text.rstrip("{=;").rstrip())


def _lines(node: Node, start: Node) -> tuple[int, int]:
    first = start.start_point.row + 1
    end_row, end_col = node.end_point.row, node.end_point.column
    if end_col == 0 and end_row > node.start_point.row:
        end_row -= 1  # a node ending at the start of the next line ends on the line before
    return first, max(first, end_row + 1)


def _classify(grammar: _Grammar, node: Node, depth: int) -> str | None:
    table = grammar.top if depth == 0 else grammar.members
    kind = table.get(node.type)
    if kind is None:
        return None
    if node.type in ("declaration", "field_declaration") and not _has_function_declarator(node):
        return None
    if node.type in ("lexical_declaration", "variable_declaration") and _function_value_declarator(node) is None:
        return None
    if node.type in ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier") and (
        node.child_by_field_name("body") is None or node.child_by_field_name("name") is None
    ):
        return None  # a use of the type (``struct x *p``), not its definition
    return kind


def _visit(grammar: _Grammar, source: bytes, node: Node, depth: int, out: list[Symbol], start: Node | None) -> None:
    if node.type in grammar.wrappers:
        for child in node.named_children:
            _visit(grammar, source, child, depth, out, start or node)
        return
    if node.type in grammar.containers:
        for child in node.named_children:
            _visit(grammar, source, child, depth, out, None)
        return
    if node.type == "type_declaration":  # Go: one declaration may define several types
        for spec in node.named_children:
            if spec.type == "type_spec":
                _add_go_type(source, spec, start or node, out)
        return
    kind = _classify(grammar, node, depth)
    if kind is None:
        return
    name = _name(source, node)
    if not name:
        return
    first = start or node
    first_line, last_line = _lines(node, first)
    out.append(
        Symbol(clip_signature(name), kind, _signature(source, node, first.start_byte), first_line, last_line, depth)
    )
    if depth == 0 and kind in grammar.with_members:
        body = node.child_by_field_name("body")
        if body is not None:
            for member in body.named_children:
                _visit(grammar, source, member, 1, out, None)


def _add_go_type(source: bytes, spec: Node, start: Node, out: list[Symbol]) -> None:
    name_node = spec.child_by_field_name("name")
    type_node = spec.child_by_field_name("type")
    if name_node is None:
        return
    kind = {"struct_type": "struct", "interface_type": "interface"}.get(type_node.type if type_node else "", "type")
    text = _text(source, spec)
    signature = "type " + text.split("{", 1)[0].strip()
    first_line, last_line = _lines(
        spec, start if start.type == "type_declaration" and start.named_child_count == 1 else spec
    )
    out.append(Symbol(_text(source, name_node), kind, clip_signature(signature), first_line, last_line, 0))


def treesitter_symbols(language: str, text: str) -> list[Symbol]:
    """Definitions in ``text`` for a language in ``GRAMMARS``; [] for any other."""
    grammar = GRAMMARS.get(language)
    if grammar is None:
        return []
    source = text.encode("utf-8", errors="replace")
    tree = _parser(language).parse(source)
    out: list[Symbol] = []
    for node in tree.root_node.named_children:
        _visit(grammar, source, node, 0, out, None)
    return out
