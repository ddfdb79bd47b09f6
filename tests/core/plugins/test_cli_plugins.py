"""``quillpad plugins``: names, versions, states, errors, requirements, commands."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from app.cli import plugins as cli_plugins
from tests.fixtures.sample_plugin import install_distribution


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="quillpad")
    cli_plugins.add_parser(parser.add_subparsers())
    args = parser.parse_args(["plugins", *argv])
    result: int = args.handler(args)
    return result


def test_lists_plugins_with_state_and_errors(site: Path, sample_site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    install_distribution(site, "quillpad-broken", "1.0", {"broken": "quillpad_sample_plugin.fails_on_import:plugin"})
    assert run() == 0
    out = capsys.readouterr().out
    assert "codegen 0.1.0  [enabled]  Code generation" in out
    assert "commands: /gen /explain /edit" in out and "requires: model, editor" in out
    assert "sample 0.3.0  [enabled]  Sample" in out and "commands: /shout /haiku" in out
    assert "broken  [failed]" in out and "error: failed to load (ImportError: this plugin needs a library" in out


def test_disable_enable_and_json(sample_site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("--disable", "sample") == 0
    capsys.readouterr()
    assert run("--json") == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["sample"]["state"] == "disabled" and rows["codegen"]["state"] == "enabled"
    assert rows["codegen"]["commands"] == ["/gen", "/explain", "/edit"]
    assert run("--enable", "sample", "--json") == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["sample"]["state"] == "enabled" and rows["sample"]["requires"] == ["model"]
