"""Two runs side by side (Q4 against Q8, thinking on against off, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.evaluation.report import percent


def _row_values(report: Mapping[str, Any]) -> dict[str, str]:
    model = report.get("model") or {}
    settings = report["settings"]
    pooled = report["summary"]["pooled"]
    spread = report["summary"]["across_seeds"]
    low, high = pooled["ci95"]
    sampling = settings.get("sampling") or {}
    load = settings.get("load") or {}
    server = report.get("server") or {}
    figures = report.get("throughput") or {}
    latency = figures.get("latency_seconds") or {}
    context = load.get("context_length", server.get("max_model_len", "-"))
    if server:
        where = f"server {server.get('endpoint')} ({server.get('model')})"
        path = server.get("model_path") or server.get("model_root") or ""
        model_file = (path.replace("\\", "/").rsplit("/", 1)[-1] or "-") + " (as the server states)" if path else "-"
        sha256 = "not checkable on a server"
    else:
        where = "this computer" if model else "-"
        model_file = model.get("file_name", "-")
        sha256 = (model.get("sha256") or "-")[:16]
    return {
        "task": f"{report['kind']} ({report['mode']})",
        "run on": where,
        "model file": model_file,
        "sha256": sha256,
        "quantisation": model.get("quantization", "-"),
        "thinking": "-" if settings.get("thinking") is None else ("on" if settings["thinking"] else "off"),
        "seeds": ",".join(str(s) for s in settings["seeds"]),
        "sampling": " ".join(f"{k}={v}" for k, v in sampling.items()) or "-",
        "context / threads": f"{context} / {load.get('threads', '-')}",
        "max tokens": str(settings.get("max_tokens") or "-"),
        "tasks": f"{report['tasks_finished']}/{report['tasks_expected']}",
        "pass@1": f"{percent(pooled['pass_at_1'])} ({pooled['passed']}/{pooled['total']})",
        "95% CI": f"{percent(low)}–{percent(high)}",
        "mean ± sd over seeds": (
            f"{percent(spread['mean'])} ± {percent(spread['sd'])}" if spread["sd"] is not None else "one seed"
        ),
        "mean thinking chars": f"{report['summary']['thinking_chars_mean']:.0f}",
        "wall time": f"{report['wall_seconds']:.1f} s",
        "requests in flight": ",".join(str(c) for c in figures.get("concurrency") or []) or "-",
        "requests/s": f"{figures['requests_per_second']:.2f}" if figures else "-",
        "output tokens/s": f"{figures['output_tokens_per_second']:.1f}" if figures else "-",
        "latency p50 / p90": f"{latency['p50']:.2f} / {latency['p90']:.2f} s" if latency.get("count") else "-",
        "llama.cpp": (
            f"server build {server.get('build') or server.get('version') or 'not given'}"
            if server
            else str((report.get("software") or {}).get("llama_cpp", "-"))
        ),
    }


def compare_reports(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Rows of both runs' facts and scores, and the tasks on which they disagree."""
    left, right = _row_values(a), _row_values(b)
    rows = [{"field": key, "a": left[key], "b": right[key], "differs": left[key] != right[key]} for key in left]
    outcome_a = {(r["task_id"], r["seed"]): bool(r["passed"]) for r in a["tasks"]}
    outcome_b = {(r["task_id"], r["seed"]): bool(r["passed"]) for r in b["tasks"]}
    shared = sorted(set(outcome_a) & set(outcome_b), key=lambda k: (str(k[0]), k[1]))
    only_a = [f"{t}#{s}" for t, s in shared if outcome_a[(t, s)] and not outcome_b[(t, s)]]
    only_b = [f"{t}#{s}" for t, s in shared if outcome_b[(t, s)] and not outcome_a[(t, s)]]
    return {
        "rows": rows,
        "shared_tasks": len(shared),
        "passed_only_in_a": only_a,
        "passed_only_in_b": only_b,
        "same_tasks": set(outcome_a) == set(outcome_b),
        "same_kind": a["kind"] == b["kind"],
    }


def comparison_text(comparison: Mapping[str, Any], name_a: str = "A", name_b: str = "B") -> str:
    """The comparison as an aligned plain-text table (differing rows marked with *)."""
    rows = comparison["rows"]
    width = max(len(r["field"]) for r in rows)
    width_a = max(len(name_a), *(len(r["a"]) for r in rows))
    lines = [f"  {'':<{width}}  {name_a:<{width_a}}  {name_b}"]
    for row in rows:
        mark = "*" if row["differs"] else " "
        lines.append(f"{mark} {row['field']:<{width}}  {row['a']:<{width_a}}  {row['b']}")
    lines.append("")
    if not comparison["same_kind"]:
        lines.append("The two runs are of different task kinds; their scores are not comparable.")
    elif not comparison["same_tasks"]:
        lines.append(f"The runs cover different tasks; {comparison['shared_tasks']} (task, seed) pairs are shared.")
    lines.append(f"Passed only in {name_a}: {', '.join(comparison['passed_only_in_a']) or 'none'}")
    lines.append(f"Passed only in {name_b}: {', '.join(comparison['passed_only_in_b']) or 'none'}")
    return "\n".join(lines)
