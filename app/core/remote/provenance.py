"""What a model server says about itself, for reports that must name exactly what was measured.

``/v1/models`` (every OpenAI-compatible server) gives the model ids and, from
vLLM, ``max_model_len`` and the weights' ``root``; llama-server answers
``/props`` with its build and model path; vLLM answers ``/version``. Each
probe is optional: what a server does not answer is listed, never guessed.
The API key is sent but never recorded; the endpoint is kept without user
information or query.
"""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.core.remote.client import make_client
from app.core.remote.config import RemoteConfig

PROBE_SECONDS = 10.0
MAX_VALUE_CHARS = 500
# Facts a report names when a server gives them (any of the keys will do); the rest go to ``not_given``.
KNOWN_FACTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("max_model_len",), "the context length (max_model_len in /v1/models)"),
    (("build", "version"), "the server's build or version (llama-server's /props, vLLM's /version)"),
    (("model_path", "model_root"), "where its weights came from (llama-server's model path, vLLM's root)"),
    (("system_fingerprints",), "a system_fingerprint in its replies"),
)


def public_endpoint(base_url: str) -> str:
    """``base_url`` without user name, password, query or fragment (safe to put in a report)."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _server_root(base_url: str) -> str:
    """The server's root: llama-server and vLLM serve ``/props`` and ``/version`` beside ``/v1``."""
    parts = urlsplit(base_url)
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return urlunsplit((parts.scheme, parts.netloc, path + "/", "", ""))


def _small(value: Any) -> Any:
    """Keep JSON values short: a long string is cut, nested objects are kept one level deep."""
    if isinstance(value, str):
        return value[:MAX_VALUE_CHARS]
    if isinstance(value, dict):
        return {str(k): _small(v) for k, v in list(value.items())[:50] if not isinstance(v, dict | list)}
    if isinstance(value, list):
        return [_small(v) for v in value[:20] if not isinstance(v, dict | list)]
    return value


def _get_json(client: httpx.Client, url: str) -> dict[str, Any] | None:
    with contextlib.suppress(httpx.HTTPError, ValueError):
        response = client.get(url, timeout=PROBE_SECONDS)
        if response.status_code == 200:
            data = response.json()
            return data if isinstance(data, dict) else None
    return None


def server_facts(config: RemoteConfig, model: str) -> dict[str, Any]:
    """The endpoint, the served model's ``/v1/models`` entry, llama-server's ``/props``, vLLM's ``/version``.

    Never raises for a probe the server does not answer (the fact is then
    listed in ``not_given``); the connection itself was checked before.
    """
    facts: dict[str, Any] = {"endpoint": public_endpoint(config.base_url), "host": config.host, "model": model}
    root = _server_root(config.base_url)
    with make_client(config) as client:
        listing = _get_json(client, "models")
        entry = None
        if listing is not None and isinstance(listing.get("data"), list):
            entry = next((e for e in listing["data"] if isinstance(e, dict) and e.get("id") == model), None)
        if entry is not None:
            facts["models_entry"] = {k: _small(v) for k, v in entry.items() if k not in ("object",)}
            raw_meta = entry.get("meta")
            meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
            length = entry.get("max_model_len") or entry.get("context_length") or meta.get("n_ctx_train")
            if isinstance(length, int):
                facts["max_model_len"] = length
            if isinstance(entry.get("root"), str):
                facts["model_root"] = entry["root"][:MAX_VALUE_CHARS]
        props = _get_json(client, root + "props")
        if props is not None:
            facts["props"] = _small(props)
            build = props.get("build_info")
            if isinstance(build, str):
                facts["build"] = build[:MAX_VALUE_CHARS]
            if isinstance(props.get("model_path"), str):
                facts["model_path"] = props["model_path"][:MAX_VALUE_CHARS]
            settings = props.get("default_generation_settings")
            if isinstance(settings, dict) and isinstance(settings.get("n_ctx"), int):
                facts.setdefault("max_model_len", settings["n_ctx"])
            if isinstance(props.get("total_slots"), int):
                facts["slots"] = props["total_slots"]
        version = _get_json(client, root + "version")
        if version is not None and isinstance(version.get("version"), str):
            facts["version"] = version["version"][:MAX_VALUE_CHARS]
    return facts


def not_given(facts: dict[str, Any]) -> list[str]:
    """The facts a report should have but the server did not state, in plain words."""
    missing = ["the weights' sha256 (a server's model file cannot be checked remotely)"]
    missing += [label for keys, label in KNOWN_FACTS if not any(facts.get(key) for key in keys)]
    return missing
