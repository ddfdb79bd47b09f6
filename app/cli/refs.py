"""``quillpad refs``: the code-reference index (``index``) and checking code against it (``check``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.cli.common import SubParsers, notice, progress
from app.core.errors import QuillpadError
from app.core.paths import app_paths
from app.core.refs import RefIndex, default_index_path, project_exclusions
from app.core.refs.indexer import IndexProgress
from app.core.refs.matcher import RefMatch
from app.core.settings import load_settings


def add_parser(sub: SubParsers) -> None:
    """Register ``refs`` and its commands on the main parser."""
    refs = sub.add_parser("refs", help="code referencing: does code reproduce code installed on this computer")
    commands = refs.add_subparsers(title="commands", metavar="COMMAND", required=True)
    index = commands.add_parser("index", help="build or update the index of installed packages and your folders")
    index.add_argument("--project", metavar="DIR", help="also index the virtual environment inside this project")
    index.add_argument("--full", action="store_true", help="read everything again")
    index.add_argument("--json", action="store_true", help="print one JSON object")
    index.set_defaults(handler=cmd_index)
    check = commands.add_parser("check", help="print the indexed code that FILE (or - for stdin) reproduces")
    check.add_argument("file", metavar="FILE", help="a source file, or - to read standard input")
    check.add_argument("--language", help="the language when reading stdin (default: from the file name, else Python)")
    check.add_argument("--project", metavar="DIR", help="your project: its code is never reported (default: none)")
    check.add_argument("--min-tokens", type=int, help="normalised tokens a match must cover (default: settings)")
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.set_defaults(handler=cmd_check)


def _open(project: str | None) -> tuple[RefIndex, int]:
    paths = app_paths()
    settings = load_settings(paths).settings.refs
    index = RefIndex(
        default_index_path(paths),
        folders=[Path(folder) for folder in settings.folders],
        project=Path(project).expanduser() if project else None,
    )
    if index.notice:
        notice(index.notice)
    return index, settings.min_tokens


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def cmd_index(args: argparse.Namespace) -> int:
    """Bring the index up to date and say what it holds."""
    index, _ = _open(args.project)
    try:

        def show(step: IndexProgress) -> None:
            if step.current and not args.json:
                progress(f"{step.done + 1}/{step.total} {step.current}")

        result = index.update(progress=show, full=args.full)
        stats = index.stats()
        sources = index.store.sources()
    finally:
        index.close()
    unknown = sorted(f"{row.name} {row.version}".strip() for row in sources.values() if row.licence is None)
    if args.json:
        out: dict[str, Any] = {
            "path": str(index.store.path),
            "added": result.added,
            "removed": result.removed,
            "unchanged": result.unchanged,
            "seconds": round(result.seconds, 2),
            "sources": stats.sources,
            "files": stats.files,
            "tokens": stats.tokens,
            "fingerprints": stats.fingerprints,
            "bytes": stats.size_bytes,
            "licence_unknown": unknown,
        }
        print(json.dumps(out, indent=2))
        return 0
    print(
        f"Indexed {len(result.added)} new or changed source(s), removed {len(result.removed)}, "
        f"{result.unchanged} unchanged, in {result.seconds:.1f} s."
    )
    print(
        f"The index holds {stats.sources} sources, {stats.files:,} files, {stats.tokens:,} tokens "
        f"({_size(stats.size_bytes)}) at {index.store.path}."
    )
    if unknown:
        print(f"Licence unknown for {len(unknown)}: " + ", ".join(unknown))
    return 0


def _read(file: str) -> tuple[str, str | None]:
    if file == "-":
        return sys.stdin.read(), None
    path = Path(file)
    try:
        return path.read_text(encoding="utf-8"), path.name
    except FileNotFoundError as err:
        raise QuillpadError(f"{file} does not exist.") from err
    except UnicodeDecodeError as err:
        raise QuillpadError(f"{file} is not UTF-8 text, so it cannot be checked.") from err
    except OSError as err:
        raise QuillpadError(f"Cannot read {file}: {err.strerror}.") from err


def _describe(match: RefMatch) -> str:
    return f"lines {match.lines[0]}-{match.lines[1]}: {match.describe()}\n    {match.path}"


def cmd_check(args: argparse.Namespace) -> int:
    """Print each match of a file with its source and licence; exit 0 whether or not there are any."""
    text, name = _read(args.file)
    index, min_tokens = _open(args.project)
    try:
        if index.stats().sources == 0:
            raise QuillpadError("The code-reference index is empty; run `quillpad refs index` first.")
        matches = index.check(
            text,
            language=args.language,
            filename=name,
            exclusions=project_exclusions(Path(args.project)) if args.project else None,
            min_tokens=args.min_tokens or min_tokens,
        )
    finally:
        index.close()
    if args.json:
        print(json.dumps({"file": args.file, "matches": [match.to_dict() for match in matches]}, indent=2))
        return 0
    if not matches:
        print(
            "No match with the indexed code (only code on this computer is compared; "
            "no match is not proof of originality)."
        )
        return 0
    for match in matches:
        print(_describe(match))
    return 0
