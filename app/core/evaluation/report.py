"""The run's report: ``report.json`` (everything) and ``report.md`` / ``report.html`` (for people).

The JSON holds the model file (name, size, sha256, GGUF metadata,
quantisation), the software and hardware, every setting that changes results,
each task's prompt, raw output, extracted answer, verdict and reason, and the
statistics: pass@1 with a Wilson 95% interval per seed and pooled, and the
mean ± sd of pass@1 across seeds.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from app.core.errors import QuillpadError
from app.core.evaluation.datasets import Dataset
from app.core.evaluation.stats import seed_spread, wilson
from app.core.evaluation.store import result_key
from app.core.evaluation.tasks import EvalTask
from app.core.evaluation.throughput import latency
from app.core.remote.provenance import not_given

REPORT_VERSION = 1


class ReportError(QuillpadError):
    """A file that is not a readable evaluation report."""


JSON_NAME, MARKDOWN_NAME, HTML_NAME = "report.json", "report.md", "report.html"


def build_report(
    manifest: Mapping[str, Any],
    dataset: Dataset,
    tasks: Sequence[EvalTask],
    results: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The report of the selected ``tasks`` for every configured seed, from the stored results."""
    config = manifest["config"]
    seeds = [int(s) for s in config["seeds"]]
    stored = [dict(results[key]) for s in seeds for t in tasks if (key := result_key(t.task_id, s)) in results]
    # Tasks lost to the server are not model failures: they are listed, not scored, and run again on resume.
    records = [r for r in stored if not r.get("error")]
    errors = [r for r in stored if r.get("error")]
    per_seed: dict[str, Any] = {}
    rates: dict[int, float] = {}
    for seed in seeds:
        mine = [r for r in records if int(r["seed"]) == seed]
        proportion = wilson(sum(bool(r["passed"]) for r in mine), len(mine))
        per_seed[str(seed)] = proportion.to_dict()
        if mine:
            rates[seed] = proportion.rate
    pooled = wilson(sum(bool(r["passed"]) for r in records), len(records))
    thinking = [int(r.get("thinking_chars", 0)) for r in records]
    sessions = manifest.get("sessions", [])
    expected = len(tasks) * len(seeds)
    return {
        "report_version": REPORT_VERSION,
        "kind": config["kind"],
        "mode": config["mode"],
        "complete": len(records) == expected,
        "tasks_expected": expected,
        "tasks_finished": len(records),
        "fingerprint": manifest["fingerprint"],
        "dataset": {**manifest["dataset"], "selected": len(tasks), "limit": config.get("limit")},
        "model": manifest.get("model"),
        "server": server_summary(manifest.get("server"), records),
        "profile": manifest.get("profile"),
        "settings": {
            "thinking": manifest["settings"].get("thinking"),
            "seeds": seeds,
            "sampling": manifest["settings"].get("sampling"),
            "load": manifest["settings"].get("load"),
            "max_tokens": config.get("max_tokens"),
            "timeout_seconds": config.get("timeout"),
            "workers": config.get("workers"),
            "prompt_version": manifest["settings"].get("prompt_version"),
        },
        "software": manifest.get("software"),
        "hardware": manifest.get("hardware"),
        "sandbox": manifest.get("sandbox"),
        "wall_seconds": round(sum(float(s.get("seconds", 0)) for s in sessions), 3),
        "model_load_seconds": manifest.get("model_load_seconds"),
        "sessions": sessions,
        "throughput": run_throughput(sessions, records) if config["mode"] == "model" else None,
        "errors": [
            {"task_id": r["task_id"], "seed": r["seed"], "error": r["error"], "attempts": r.get("attempts")}
            for r in errors
        ],
        "summary": {
            "pooled": pooled.to_dict(),
            "per_seed": per_seed,
            "across_seeds": seed_spread(rates).to_dict(),
            "thinking_chars_mean": statistics.fmean(thinking) if thinking else 0.0,
            "failure_reasons": _reason_counts(records),
        },
        "tasks": records,
    }


def server_summary(server: Mapping[str, Any] | None, records: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A server's facts with what its replies said (fingerprints, model ids) and what it never said."""
    if not server:
        return None
    fingerprints = sorted({str(r["system_fingerprint"]) for r in records if r.get("system_fingerprint")})
    models = sorted({str(r["served_model"]) for r in records if r.get("served_model")})
    summary = {**server, "system_fingerprints": fingerprints, "reply_model_ids": models}
    summary["retries_used"] = sum(max(0, int(r.get("attempts", 1)) - 1) for r in records)
    summary["not_given"] = not_given(summary)
    return summary


def run_throughput(sessions: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Requests/s and output tokens/s over the sessions' wall time, and the latency of the scored requests."""
    seconds = sum(float(s.get("seconds", 0)) for s in sessions if "requests" in s)
    requests = sum(int(s.get("requests", 0)) for s in sessions)
    tokens = sum(int(s.get("output_tokens", 0)) for s in sessions)
    return {
        "requests": requests,
        "seconds": round(seconds, 3),
        "requests_per_second": round(requests / seconds, 3) if seconds > 0 else 0.0,
        "output_tokens": tokens,
        "output_tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else 0.0,
        "concurrency": sorted({int(s["concurrency"]) for s in sessions if "concurrency" in s}),
        "latency_seconds": latency([dict(r) for r in records]),
    }


def _reason_counts(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        if not record["passed"]:
            reason = str(record["reason"]).split(":")[0][:60]
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: -item[1]))


def percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"


def headline(report: Mapping[str, Any]) -> str:
    """One line: pass@1 with its interval, and the spread across seeds when there are several."""
    pooled = report["summary"]["pooled"]
    low, high = pooled["ci95"]
    text = (
        f"pass@1 {percent(pooled['pass_at_1'])} ({pooled['passed']}/{pooled['total']}), "
        f"95% CI {percent(low)}–{percent(high)}"
    )
    spread = report["summary"]["across_seeds"]
    if spread["sd"] is not None:
        text += f"; across {len(spread['per_seed'])} seeds {percent(spread['mean'])} ± {percent(spread['sd'])}"
    return text


def _fence(text: str, lang: str = "") -> str:
    longest = max((len(run) for run in _backtick_runs(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{text.rstrip()}\n{fence}"


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for char in text:
        if char == "`":
            current += char
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def to_markdown(report: Mapping[str, Any]) -> str:
    """The report as a readable Markdown page."""
    model = report.get("model") or {}
    settings = report["settings"]
    lines = [f"# Quillpad evaluation: {report['kind']}" + ("" if report["mode"] == "model" else f" ({report['mode']})")]
    lines += ["", f"**{headline(report)}**", ""]
    if not report["complete"]:
        lines += [f"*Incomplete: {report['tasks_finished']} of {report['tasks_expected']} tasks finished.*", ""]
    if report.get("errors"):
        lines += [
            f"*{len(report['errors'])} task(s) failed for the server's sake and are not scored; "
            "run the same command again to ask them again.*",
            "",
        ]
    rows: list[tuple[str, Any]] = []
    server = report.get("server")
    if server:
        rows += _server_rows(report, server)
    if model:
        rows += [
            ("Model file", f"{model['file_name']} ({model['size_bytes']:,} bytes)"),
            ("sha256", model["sha256"]),
            ("Model", f"{model['name']} ({model['architecture']}, {model['parameters']:,} parameters)"),
            ("Quantisation", model["quantization"]),
            (
                "Mixture of experts",
                f"{model['experts']} experts, {model['experts_used']} used" if model["is_moe"] else "no",
            ),
            ("Profile", report.get("profile")),
            ("Thinking", "on" if settings["thinking"] else "off"),
            ("Sampling", ", ".join(f"{k}={v}" for k, v in (settings["sampling"] or {}).items())),
            ("Context, threads, GPU layers", _load_text(settings["load"])),
            ("Max tokens", settings["max_tokens"] or "to the end of the context"),
        ]
    software, hardware = report.get("software") or {}, report.get("hardware") or {}
    rows += [
        ("Seeds", ", ".join(str(s) for s in settings["seeds"])),
        ("Dataset", f"{report['dataset']['source']} ({report['dataset']['selected']} of {report['dataset']['tasks']})"),
        ("Dataset sha256", report["dataset"]["sha256"]),
        ("Per-task timeout", f"{settings['timeout_seconds']} s, {settings['workers']} workers"),
        *([("Sandbox", report["sandbox"]["description"])] if report.get("sandbox") else []),
        ("Quillpad", software.get("quillpad")),
        (
            "llama-cpp-python / llama.cpp" + (" (this computer, not the server)" if server else ""),
            f"{software.get('llama_cpp_python')} / {software.get('llama_cpp')}",
        ),
        ("Hardware", _hardware_text(hardware)),
        (
            "Wall time",
            f"{report['wall_seconds']:.1f} s over {len(report['sessions'])} session(s)"
            + (
                f", after {'connecting' if server else 'loading the model'} in {report['model_load_seconds']:.1f} s"
                if report.get("model_load_seconds")
                else ""
            ),
        ),
        ("Mean thinking length", f"{report['summary']['thinking_chars_mean']:.0f} characters"),
    ]
    if report.get("throughput"):
        rows += _throughput_rows(report["throughput"])
    lines += ["| | |", "|---|---|", *[f"| {k} | {_cell(v)} |" for k, v in rows], ""]
    if server:
        lines += ["## The server", "", "Sent with every request (besides the messages):", ""]
        lines += [f"- `{k}`: `{json.dumps(v)}`" for k, v in (server.get("request") or {}).items()]
        lines += ["", "Not given by the server:", ""]
        lines += [f"- {fact}" for fact in server.get("not_given") or []]
        if server.get("models_entry"):
            lines += ["", "Its /v1/models entry:", "", _fence(json.dumps(server["models_entry"], indent=2), "json")]
        if server.get("props"):
            lines += ["", "Its /props:", "", _fence(json.dumps(server["props"], indent=2), "json")]
        lines += [""]
    lines += ["## Results by seed", "", "| seed | passed | pass@1 | 95% CI |", "|---|---|---|---|"]
    for seed, data in report["summary"]["per_seed"].items():
        low, high = data["ci95"]
        lines.append(
            f"| {seed} | {data['passed']}/{data['total']} | {percent(data['pass_at_1'])} | "
            f"{percent(low)}–{percent(high)} |"
        )
    if report["summary"]["failure_reasons"]:
        lines += ["", "## Why tasks failed", "", "| reason | tasks |", "|---|---|"]
        lines += [f"| {_cell(k)} | {v} |" for k, v in report["summary"]["failure_reasons"].items()]
    references = report.get("references")
    if references:
        lines += ["", "## Matches with indexed code (a contamination hint)", "", references["note"], ""]
        lines += [f"- {_cell(r['task_id'])} (seed {r['seed']}): {_cell(r['match'])}" for r in references["matching"]]
        if not references["matching"]:
            lines.append("No answer matches indexed code.")
    lines += [
        "",
        "## Tasks",
        "",
        "| task | seed | result | answer | reason | thinking chars |",
        "|---|---|---|---|---|---|",
    ]
    for record in report["tasks"]:
        answer = record["extracted"] if not record.get("method", "").startswith(("code", "whole")) else record["method"]
        lines.append(
            f"| {_cell(record['task_id'])} | {record['seed']} | {'pass' if record['passed'] else 'FAIL'} | "
            f"{_cell(answer)} | {_cell(record['reason'])} | {record.get('thinking_chars', 0)} |"
        )
    lines += ["", "## Prompts and outputs", ""]
    for record in report["tasks"]:
        lines += [f"### {record['task_id']} (seed {record['seed']}): {'pass' if record['passed'] else 'FAIL'}", ""]
        if record.get("prompt"):
            lines += ["Prompt:", "", _fence(record["prompt"]), ""]
        lines += ["Output:", "", _fence(record.get("output") or "(empty)"), ""]
        if record.get("stderr") and not record["passed"]:
            lines += ["Error output:", "", _fence(record["stderr"][-800:]), ""]
    return "\n".join(lines) + "\n"


def _server_rows(report: Mapping[str, Any], server: Mapping[str, Any]) -> list[tuple[str, Any]]:
    settings = report["settings"]
    rows: list[tuple[str, Any]] = [
        ("Server", server.get("endpoint")),
        ("Served model", server.get("model")),
        ("Model ids in replies", ", ".join(server.get("reply_model_ids") or []) or "not sent"),
        ("Context (max_model_len)", server.get("max_model_len", "not given")),
        ("Server build / version", server.get("build") or server.get("version") or "not given"),
        ("Model path on the server", server.get("model_path") or server.get("model_root") or "not given"),
        ("system_fingerprint", ", ".join(server.get("system_fingerprints") or []) or "not given"),
        ("Profile", report.get("profile")),
        ("Thinking", "on" if settings["thinking"] else "off"),
        ("Sent with every request", "see The server, below"),
        ("Max tokens", settings["max_tokens"] or "the server's limit"),
        (
            "Concurrency, retries",
            f"{server.get('concurrency')} in flight, up to {server.get('max_retries')} retries each "
            f"({server.get('retries_used', 0)} used), request timeout "
            + (f"{server['request_timeout']:g} s" if server.get("request_timeout") else "none"),
        ),
        ("Not given by the server", "; ".join(server.get("not_given") or []) or "-"),
    ]
    return rows


def _throughput_rows(figures: Mapping[str, Any]) -> list[tuple[str, Any]]:
    lat = figures.get("latency_seconds") or {}
    rows: list[tuple[str, Any]] = [
        (
            "Throughput",
            f"{figures['requests_per_second']:.2f} requests/s, "
            f"{figures['output_tokens_per_second']:.1f} output tokens/s "
            f"({figures['requests']} requests, {figures['output_tokens']} tokens in {figures['seconds']:.1f} s)",
        )
    ]
    if lat.get("count"):
        rows.append(
            (
                "Latency per request",
                f"mean {lat['mean']:.2f} s, p50 {lat['p50']:.2f} s, p90 {lat['p90']:.2f} s, "
                f"p99 {lat['p99']:.2f} s, max {lat['max']:.2f} s",
            )
        )
    return rows


def _load_text(load: Mapping[str, Any] | None) -> str:
    if not load:
        return ""
    return f"{load['context_length']:,} tokens, {load['threads']} threads, {load['gpu_layers']} GPU layers"


def _hardware_text(hardware: Mapping[str, Any]) -> str:
    ram = hardware.get("ram_bytes") or 0
    return (
        f"{hardware.get('cpu')} ({hardware.get('physical_cores')} cores / {hardware.get('logical_cores')} threads), "
        f"{ram / 1024**3:.1f} GiB RAM, {hardware.get('os')}, Python {hardware.get('python')}"
    )


def to_html(markdown: str, title: str) -> str:
    """The Markdown report as a standalone HTML page (raw HTML in outputs is escaped)."""
    from html import escape

    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    style = (
        "body{font-family:sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.4}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}"
        "pre{background:#f5f5f5;padding:.5rem;overflow-x:auto;white-space:pre-wrap}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{style}</style></head><body>\n{body}</body></html>\n"
    )


def write_report(folder: str | Path, report: Mapping[str, Any]) -> dict[str, Path]:
    """Write ``report.json``, ``report.md`` and ``report.html`` into ``folder`` (atomically each)."""
    target = Path(folder)
    markdown = to_markdown(report)
    files = {
        JSON_NAME: json.dumps(report, indent=2, ensure_ascii=False),
        MARKDOWN_NAME: markdown,
        HTML_NAME: to_html(markdown, f"Quillpad evaluation: {report['kind']}"),
    }
    written = {}
    for name, text in files.items():
        path = target / name
        temporary = path.with_suffix(path.suffix + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
        written[name] = path
    return written


def recent_reports(root: str | Path, limit: int = 8) -> list[dict[str, Any]]:
    """The newest ``limit`` readable reports in the run folders under ``root``, oldest first."""
    files = sorted(Path(root).glob(f"*/{JSON_NAME}"), key=lambda p: p.stat().st_mtime)[-limit:]
    found = []
    for file in files:
        try:
            found.append(load_report(file))
        except ReportError:
            continue  # a folder of an older version or a damaged file: not worth a message here
    return found


def run_label(report: Mapping[str, Any]) -> str:
    """A short name of a run: task, model file (or self-check), thinking, seeds."""
    model = report.get("model") or {}
    server = report.get("server") or {}
    who = model.get("file_name", "").removesuffix(".gguf") or (
        f"{server['model']} @ {server.get('host')}" if server.get("model") else report["mode"]
    )
    thinking = report["settings"].get("thinking")
    think = "" if thinking is None else (" · think" if thinking else " · no-think")
    seeds = report["settings"]["seeds"]
    return f"{report['kind']} · {who}{think}" + (f" · {len(seeds)} seeds" if len(seeds) > 1 else "")


def load_report(path: str | Path) -> dict[str, Any]:
    """A ``report.json`` (or the folder holding one); raises ``ReportError`` for anything else."""
    file = Path(path)
    if file.is_dir():
        file = file / JSON_NAME
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"There is no report at {file}; give a report.json written by quillpad eval.") from None
    except (OSError, ValueError, UnicodeDecodeError):
        raise ReportError(
            f"{file} is not a readable JSON report; give a report.json written by quillpad eval."
        ) from None
    if not isinstance(data, dict) or data.get("report_version") != REPORT_VERSION or "summary" not in data:
        raise ReportError(f"{file} is not an evaluation report of this Quillpad version; run the evaluation again.")
    return data
