"""The C kernels on their own, through tests/c/test_kernels_main.c: every tier of every build this
machine can run or emulate, against a double-precision oracle, with inputs that end right before
an unreadable page (so a read past the end crashes)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CPU_TIERS, ROOT, needs_source, require_tool

KERNELS = ROOT / "lattice_embed" / "_kernels"
HARNESS = ROOT / "tests" / "c" / "test_kernels_main.c"
X86 = platform.machine().lower() in ("x86_64", "amd64")

# The C sources: in the checkout and the sdist, not beside an installed wheel.
pytestmark = [pytest.mark.slow,
              needs_source("lattice_embed/_kernels/src", "lattice_embed/_kernels/include")]


def build_and_run(tmp_path: Path, compiler: str, flags: list[str], runner: list[str]) -> str:
    binary = tmp_path / "kernels"
    sources = [str(HARNESS), *sorted(str(p) for p in (KERNELS / "src").glob("*.c"))]
    subprocess.run([compiler, "-O2", "-Wall", "-Wno-psabi", "-Wno-unknown-warning-option", "-Werror", *flags,
                    f"-I{KERNELS / 'include'}", f"-I{HARNESS.parent}", *sources, "-lm", "-lpthread",
                    "-o", str(binary)], check=True, capture_output=True, text=True)
    result = subprocess.run([*runner, str(binary)], capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith("PASSED")
    return result.stdout


@pytest.mark.skipif(not X86, reason="x86-64 builds")
@pytest.mark.parametrize("compiler", ["gcc", "clang"])
def test_native_x86_tiers(tmp_path: Path, compiler: str) -> None:
    require_tool(compiler)
    out = build_and_run(tmp_path, compiler, ["-march=x86-64"], [])
    for tier in CPU_TIERS:
        assert f"ok   {tier}" in out
    assert f"dispatch best={CPU_TIERS[-1]}" in out


@pytest.mark.skipif(not X86, reason="x86-64 builds")
def test_avx512_and_avx2_in_simde_emulation(tmp_path: Path) -> None:
    """QEMU cannot emulate AVX-512; SIMDe runs the same intrinsics as portable C on any x86-64."""
    require_tool("gcc")
    if not Path("/usr/include/simde/x86/avx512.h").exists():
        message = "needs SIMDe headers (apt-get install libsimde-dev; .ci/run installs them)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    out = build_and_run(tmp_path, "gcc", ["-march=x86-64", "-DLE_EMULATE_X86"], [])
    for tier in ("scalar", "avx2", "avx512", "avx512vnni", "avx512bf16"):
        assert f"ok   {tier}" in out


def test_neon_under_qemu_aarch64(tmp_path: Path) -> None:
    require_tool("aarch64-linux-gnu-gcc", "qemu-aarch64")
    out = build_and_run(tmp_path, "aarch64-linux-gnu-gcc", ["-march=armv8-a"],
                        ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"])
    assert "ok   scalar" in out and "ok   neon" in out
    assert "ok   neondotprod" in out  # QEMU's default CPU has FEAT_DotProd
    assert "dispatch best=neondotprod" in out
