"""The Python kernel tests again on emulated CPUs without AVX-512 and without AVX2 (QEMU user mode),
so the tiers below this machine's best are exercised through the real import-time dispatch."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only"),
]

# (QEMU CPU model, the tiers it must report). Nehalem keeps SSE4.2/POPCNT, which numpy 2 requires.
CPUS = [("Nehalem", ["scalar"]), ("Haswell", ["scalar", "avx2"])]


def under_qemu(cpu: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["qemu-x86_64", "-cpu", cpu, sys.executable, *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200, check=False)


@pytest.mark.parametrize(("cpu", "tiers"), CPUS, ids=[cpu for cpu, _ in CPUS])
def test_kernel_suite_on_emulated_cpu(cpu: str, tiers: list[str]) -> None:
    require_tool("qemu-x86_64")
    report = under_qemu(cpu, "-c", "import json, lattice_embed.simd as s; print(json.dumps(s.capabilities()))")
    assert report.returncode == 0, report.stderr
    caps = json.loads(report.stdout)
    assert caps["cpu"] == tiers and caps["active"] == tiers[-1]

    suite = under_qemu(cpu, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       "tests/kernels/test_dense.py", "tests/kernels/test_errors.py")
    assert suite.returncode == 0, suite.stdout[-3000:] + suite.stderr[-3000:]
    assert " passed" in suite.stdout and "failed" not in suite.stdout
