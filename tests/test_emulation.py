"""Every Python kernel test file again on emulated CPUs without AVX-512 and without AVX2 (QEMU
user mode), so the tiers below this machine's best are exercised through the real import-time
dispatch. Nehalem runs the scalar tier and Haswell the avx2 tier (the `isa` fixture is limited
to each CPU's best tier with LATTICE_EMBED_TEST_TIERS: scalar has a CPU of its own); both run at
once, in the background, from the first of these tests on. Child Python processes that tests
start run under the same emulator (LATTICE_EMBED_TEST_EMULATOR, see tests/conftest.py).

AVX-512, VNNI and BF16 cannot run here: QEMU's TCG does not emulate AVX-512. Their kernels are
checked by the C harness under SIMDe (tests/test_c_harness.py)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
KERNEL_TESTS = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "tests" / "kernels").glob(
    "test_*.py"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="x86-64 only"),
]

# (QEMU CPU model, the tiers it must report). Nehalem keeps SSE4.2/POPCNT, which numpy 2 requires.
CPUS = [("Nehalem", ["scalar"]), ("Haswell", ["scalar", "avx2"])]


def under_qemu(cpu: str, *args: str) -> list[str]:
    return ["qemu-x86_64", "-cpu", cpu, sys.executable, *args]


Runs = dict[str, tuple["subprocess.Popen[str]", IO[str]]]


@pytest.fixture(scope="module")
def suites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    """Both emulated runs of the kernel test files, started together (they take minutes)."""
    require_tool("qemu-x86_64")
    logs = tmp_path_factory.mktemp("emulated")
    runs: Runs = {}
    for cpu, tiers in CPUS:
        log = (logs / f"{cpu}.log").open("w+")
        env = {**os.environ, "LATTICE_EMBED_TEST_EMULATOR": f"qemu-x86_64 -cpu {cpu}",
               "LATTICE_EMBED_TEST_TIERS": tiers[-1]}
        env.pop("LATTICE_EMBED_ISA", None)
        command = under_qemu(cpu, "-m", "pytest", "-q", "-p", "no:cacheprovider", *KERNEL_TESTS)
        runs[cpu] = (subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT, text=True), log)
    yield runs
    for process, log in runs.values():
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def test_every_kernel_test_file_is_rerun() -> None:
    names = {Path(name).name for name in KERNEL_TESTS}
    assert {"test_dense.py", "test_batch.py", "test_quantized.py", "test_limits.py",
            "test_tolerances.py", "test_dispatch.py", "test_errors.py", "test_nn.py",
            "test_threads.py"} <= names


@pytest.mark.parametrize(("cpu", "tiers"), CPUS, ids=[cpu for cpu, _ in CPUS])
def test_kernel_suite_on_emulated_cpu(cpu: str, tiers: list[str], suites: Runs) -> None:
    report = subprocess.run(under_qemu(cpu, "-c", "import json, lattice_embed.simd as s; "
                                                  "print(json.dumps(s.capabilities()))"),
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert report.returncode == 0, report.stderr
    caps = json.loads(report.stdout)
    assert caps["cpu"] == tiers and caps["active"] == tiers[-1]

    process, log = suites[cpu]
    process.wait(timeout=1800)
    log.seek(0)
    output = log.read()
    assert process.returncode == 0, output[-4000:]
    assert " passed" in output and "failed" not in output and "error" not in output.lower()
    assert "skipped" not in output, output[-2000:]
