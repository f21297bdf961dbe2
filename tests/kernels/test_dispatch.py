"""Tier detection, the LATTICE_EMBED_ISA and use_isa overrides, and the capability report."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from lattice_embed import simd
from tests.conftest import CPU_TIERS, python_command

CAPS = simd.capabilities()
NOT_COMPILED = [t for t in simd.ISA_NAMES if t not in CAPS["compiled"]]
COMPILED_NOT_RUNNABLE = [t for t in CAPS["compiled"] if t not in CAPS["cpu"]]


def dense_tier_of(tier: str) -> str:
    """The tier the f32 kernels run at under a cap: every base tier implements the dense family,
    and a feature tier (avx512vnni, avx512bf16, neondotprod) extends the base tier below it."""
    return [t for t in CPU_TIERS[:CPU_TIERS.index(tier) + 1]
            if t in ("scalar", "avx2", "avx512", "neon")][-1]


def run_python(code: str, isa: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LATTICE_EMBED_ISA"}
    if isa is not None:
        env["LATTICE_EMBED_ISA"] = isa
    return subprocess.run([*python_command(), "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


REPORT = "import json, lattice_embed.simd as s; print(json.dumps(s.capabilities()))"


def test_report_shape() -> None:
    assert CAPS["compiled"][0] == "scalar" and CAPS["cpu"][0] == "scalar"
    assert set(CAPS["cpu"]) <= set(CAPS["compiled"]) <= set(simd.ISA_NAMES)
    assert CAPS["active"] in CAPS["cpu"]
    assert set(CAPS["kernels"]) >= {"dot_f32", "cosine_f32", "l2sq_f32", "l1_f32", "normalize_f32"}
    assert all(tier in CAPS["cpu"] for tier in CAPS["kernels"].values())


def test_default_is_the_best_tier_the_cpu_runs() -> None:
    report = json.loads(run_python(REPORT, None).stdout)
    assert report["active"] == report["cpu"][-1]
    assert report["override"] is None


@pytest.mark.parametrize("tier", CPU_TIERS)
def test_env_caps_the_tier(tier: str) -> None:
    result = run_python(REPORT + "; import numpy as np; print(s.dot_product(np.ones(77), np.ones(77)))",
                        tier)
    assert result.returncode == 0, result.stderr
    report_line, dot_line = result.stdout.splitlines()
    report = json.loads(report_line)
    assert report["active"] == tier and report["override"] == tier
    assert all(CPU_TIERS.index(t) <= CPU_TIERS.index(tier) for t in report["kernels"].values())
    assert report["kernels"]["dot_f32"] == dense_tier_of(tier)
    assert float(dot_line) == 77.0


@pytest.mark.parametrize("value", ["sse9", "AVX-512", "fastest"])
def test_env_unknown_tier_fails_import_listing_valid_names(value: str) -> None:
    result = run_python("import lattice_embed.simd", value)
    assert result.returncode != 0
    assert "ValueError: LATTICE_EMBED_ISA: unknown ISA tier" in result.stderr
    assert ", ".join(simd.ISA_NAMES) in result.stderr


def test_env_is_case_and_space_insensitive() -> None:
    result = run_python(REPORT, " Scalar ")
    assert json.loads(result.stdout)["active"] == "scalar"


@pytest.mark.parametrize("tier", NOT_COMPILED)
def test_env_tier_not_compiled_fails(tier: str) -> None:
    result = run_python("import lattice_embed.simd", tier)
    assert "RuntimeError: LATTICE_EMBED_ISA" in result.stderr
    assert "not compiled into this build" in result.stderr


@pytest.mark.parametrize("tier", COMPILED_NOT_RUNNABLE)
def test_env_tier_the_cpu_lacks_names_missing_features(tier: str) -> None:
    result = run_python("import lattice_embed.simd", tier)
    assert "RuntimeError: LATTICE_EMBED_ISA" in result.stderr
    assert "needs CPU features this CPU lacks" in result.stderr
    assert "avx512f" in result.stderr or "avx2" in result.stderr


class TestUseIsa:
    @pytest.mark.parametrize("tier", CPU_TIERS)
    def test_switches_and_restores(self, tier: str) -> None:
        before = simd.capabilities()["active"]
        with simd.use_isa(tier):
            assert simd.capabilities()["active"] == tier
            assert simd.capabilities()["kernels"]["cosine_f32"] == dense_tier_of(tier)
        assert simd.capabilities()["active"] == before

    def test_nested_blocks_restore_in_order(self) -> None:
        outer = CPU_TIERS[-1]
        with simd.use_isa(outer):
            with simd.use_isa("scalar"):
                assert simd.capabilities()["active"] == "scalar"
            assert simd.capabilities()["active"] == outer

    def test_restores_after_an_exception(self) -> None:
        before = simd.capabilities()["active"]
        with pytest.raises(ZeroDivisionError), simd.use_isa("scalar"):
            _ = 1 / 0
        assert simd.capabilities()["active"] == before

    def test_unknown_name(self) -> None:
        with pytest.raises(ValueError, match="unknown ISA tier 'mmx'; valid tiers: scalar, "), \
                simd.use_isa("mmx"):
            pass

    @pytest.mark.parametrize("tier", NOT_COMPILED + COMPILED_NOT_RUNNABLE)
    def test_unusable_tier_raises_and_changes_nothing(self, tier: str) -> None:
        before = simd.capabilities()
        with pytest.raises(RuntimeError, match=f"ISA tier '{tier}'"), simd.use_isa(tier):
            pass
        assert simd.capabilities() == before

    def test_every_runnable_tier_gives_the_same_answers(self) -> None:
        rng = np.random.default_rng(7)
        a, b = rng.standard_normal((2, 1000)).astype(np.float32)
        results = {}
        for tier in CPU_TIERS:
            with simd.use_isa(tier):
                results[tier] = (simd.dot_product(a, b), simd.manhattan_distance(a, b))
        for dot, l1 in results.values():
            assert dot == pytest.approx(results["scalar"][0], rel=1e-5)
            assert l1 == pytest.approx(results["scalar"][1], rel=1e-5)


def test_show_runtime_prints_versions_flags_and_tiers(capsys: pytest.CaptureFixture[str]) -> None:
    simd.show_runtime()
    text = capsys.readouterr().out
    assert "lattice_embed 0." in text and "numpy" in text
    assert "-O3" in text and "ffast-math" not in text
    assert f"active        {CAPS['active']}" in text
    assert "dot_f32" in text


def test_thread_count_from_the_environment() -> None:
    code = "import json, lattice_embed.simd as s; print(json.dumps(s.capabilities()['threads']))"
    env = {k: v for k, v in os.environ.items() if k != "LATTICE_EMBED_ISA"}
    result = subprocess.run([*python_command(), "-c", code],
                            env={**env, "LATTICE_EMBED_NUM_THREADS": "3"},
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout)["env"] == 3
    for bad in ("0", "two", "-1"):
        failed = subprocess.run([*python_command(), "-c", code],
                                env={**env, "LATTICE_EMBED_NUM_THREADS": bad},
                                capture_output=True, text=True, check=False)
        assert failed.returncode != 0
        assert f"LATTICE_EMBED_NUM_THREADS must be a positive integer, got '{bad}'" in failed.stderr


def test_use_isa_in_two_threads_restores_the_cap() -> None:
    """Overlapping blocks in two threads: the second waits for the first, so each block runs at
    its own tier and the cap ends where it started (it used to stay on scalar for good)."""
    import threading

    before = simd.capabilities()["active"]
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: dict[str, str] = {}

    def first() -> None:
        with simd.use_isa("scalar"):
            a_in.set()
            b_in.wait(timeout=0.5)  # B is blocked entering: the wait just ends
            seen["a"] = simd.capabilities()["active"]
        a_out.set()

    def second() -> None:
        a_in.wait()
        with simd.use_isa(CPU_TIERS[-1]):
            b_in.set()
            a_out.wait(timeout=5)
            seen["b"] = simd.capabilities()["active"]

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert seen == {"a": "scalar", "b": CPU_TIERS[-1]}
    assert simd.capabilities()["active"] == before
