"""GPU memory from nvidia-smi: parsed over every GPU, measured once per cache window, never a crash or a hang."""

from __future__ import annotations

import pytest

from app.core.models import hardware
from app.core.models.hardware import parse_nvidia_smi, probe_hardware
from tests.fixtures.fake_nvidia_smi import FakeNvidiaSmi, fake_nvidia_smi  # noqa: F401

MiB = 1024**2
UNKNOWN = "GPU offload available, but its memory could not be measured"


def test_the_csv_of_several_gpus_adds_up() -> None:
    assert parse_nvidia_smi("8192, 6000\n") == (8192 * MiB, 6000 * MiB)
    assert parse_nvidia_smi("8192, 6000\n24576, 20000\n\n") == ((8192 + 24576) * MiB, 26000 * MiB)


@pytest.mark.parametrize(
    "output",
    ["", "\n", "No devices were found\n", "8192 MiB, 6000 MiB\n", "8192, 6000, 1\n", "8192, 6000\n[N/A], [N/A]\n"],
)
def test_anything_else_is_no_gpu_information(output: str) -> None:
    assert parse_nvidia_smi(output) is None


def test_one_run_serves_the_cache_window_and_a_refresh_measures_again(fake_nvidia_smi: FakeNvidiaSmi) -> None:  # noqa: F811
    fake_nvidia_smi.install("8192, 6000\n16384, 1000\n")
    assert not hardware.hardware_is_cheap()
    first = probe_hardware()
    assert (first.gpu_total, first.gpu_free) == (24576 * MiB, 7000 * MiB)
    assert "GPU 6.8 GB free of 24.0 GB" in first.describe()
    for _ in range(5):
        assert probe_hardware().gpu_free == 7000 * MiB
    assert fake_nvidia_smi.runs == 1 and hardware.hardware_is_cheap()
    fake_nvidia_smi.install("8192, 4000\n")
    assert probe_hardware(refresh_gpu=True).gpu_free == 4000 * MiB  # the Models window opening
    assert fake_nvidia_smi.runs == 2


def test_the_measurement_expires(fake_nvidia_smi: FakeNvidiaSmi, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    fake_nvidia_smi.install("8192, 6000\n")
    monkeypatch.setattr(hardware, "GPU_FACTS_MAX_AGE", 0.0)
    probe_hardware()
    probe_hardware()
    assert fake_nvidia_smi.runs == 2


@pytest.mark.parametrize(("output", "code"), [("garbage\x01 out\n", 0), ("8192, 6000\n", 9), ("", 0)])
def test_a_failing_or_confused_nvidia_smi_means_no_gpu_information(
    fake_nvidia_smi: FakeNvidiaSmi,  # noqa: F811
    output: str,
    code: int,
) -> None:
    fake_nvidia_smi.install(output, code=code)
    found = probe_hardware()
    assert found.gpu_offload and found.gpu_free is None and found.gpu_total is None
    assert found.describe().endswith(UNKNOWN)
    probe_hardware()  # a failure is cached too: no retry per banner update
    assert fake_nvidia_smi.runs == 1


def test_a_hanging_nvidia_smi_is_stopped(fake_nvidia_smi: FakeNvidiaSmi, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(hardware, "NVIDIA_SMI_TIMEOUT", 1.0)
    fake_nvidia_smi.install("8192, 6000\n", delay=60)
    found = probe_hardware()  # returns after the timeout; the autouse check finds no child left behind
    assert found.gpu_free is None and found.describe().endswith(UNKNOWN)
    assert fake_nvidia_smi.runs == 1
