"""Benchmark helpers: which tiers and peers exist here."""

from __future__ import annotations

import importlib
from types import ModuleType

import pytest

from lattice_embed import simd

CPU_TIERS: list[str] = simd.capabilities()["cpu"]


def optional(name: str) -> ModuleType | None:
    """A peer library when installed (pip install -e '.[bench]'), else None."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: absent without the plugin
def pytest_benchmark_update_machine_info(config: object, machine_info: dict) -> None:
    """Name the machine in every results file: the tier, the cores, BLAS's thread setting."""
    from benchmarks.machine import machine_facts

    machine_info["lattice_embed"] = machine_facts()


@pytest.hookimpl(optionalhook=True)  # a pytest-benchmark hook: absent without the plugin
def pytest_benchmark_update_json(config: object, benchmarks: object, output_json: dict) -> None:
    """Keep the saved results to their statistics: the raw timings of a pair-op suite run to
    hundreds of megabytes, and the reports read only min and median."""
    for bench in output_json["benchmarks"]:
        bench["stats"].pop("data", None)
