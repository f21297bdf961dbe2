"""Shared fixtures: the `isa` fixture runs a test once per tier this CPU can run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lattice_embed import simd

#: Tiers this machine can run, lowest first; every kernel test runs on each.
CPU_TIERS: list[str] = simd.capabilities()["cpu"]

#: The tiers the `isa` fixture runs: all of CPU_TIERS, or those LATTICE_EMBED_TEST_TIERS names
#: (tests/test_emulation.py runs an emulated CPU's new tier only; the tiers below it have a CPU
#: of their own there).
ISA_TIERS: list[str] = [
    tier for tier in CPU_TIERS
    if tier in os.environ.get("LATTICE_EMBED_TEST_TIERS", ",".join(CPU_TIERS)).split(",")
]


def pytest_report_header(config: pytest.Config) -> str:
    return simd._runtime.runtime_report()


@pytest.fixture(params=ISA_TIERS)
def isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """The kernels capped at one tier for the duration of the test."""
    with simd.use_isa(request.param):
        yield request.param


def python_command() -> list[str]:
    """The command that starts another Python like this one. Under user-mode emulation
    (tests/test_emulation.py sets LATTICE_EMBED_TEST_EMULATOR, e.g. "qemu-x86_64 -cpu Nehalem"),
    a child process would otherwise run on the real CPU, with its tiers."""
    import shlex
    import sys

    return [*shlex.split(os.environ.get("LATTICE_EMBED_TEST_EMULATOR", "")), sys.executable]


def require_tool(*names: str) -> None:
    """Skip when an external tool is missing, except in CI, where .ci/run installs it."""
    import shutil

    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        message = f"needs {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def require_module(*names: str) -> None:
    """Skip when an optional Python package is missing, except in CI, where .ci/run installs it."""
    import importlib.util

    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        message = f"needs the Python package(s) {', '.join(missing)} (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
