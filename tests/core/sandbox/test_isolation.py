"""Every probe and bad input, as root and as a normal user: each blocked, the isolation reported.

As root (CI), the normal user is a real unprivileged account running the
probes through ``runuser`` (tests/fixtures/normal_user.py). Run as a normal
user, that case is this process itself and the root case is skipped.
"""

from __future__ import annotations

import pytest

from app.core.sandbox.probes import PROBES, run_probes
from tests.fixtures.normal_user import ROOT, run_as_normal_user

EVERY = [probe.name for probe in PROBES]


def _check(outcomes: list[dict[str, object]]) -> None:
    assert [o["name"] for o in outcomes] == EVERY  # nothing skipped
    for outcome in outcomes:
        assert outcome["isolation"] == "namespaces", outcome
        assert outcome["blocked"], outcome
        assert outcome["folder_removed"], outcome
        assert outcome["left_running"] == 0, outcome


@pytest.mark.skipif(not ROOT, reason="this case is the app run as root")
def test_every_probe_is_blocked_as_root() -> None:
    outcomes = run_probes()
    _check([o.__dict__ for o in outcomes])


def test_every_probe_is_blocked_as_a_normal_user(readable_app: str) -> None:
    _check(run_as_normal_user(readable_app) if ROOT else [o.__dict__ for o in run_probes()])
