"""Shared fixtures: the `isa` fixture runs a test once per tier this CPU can run."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from lattice_embed import simd

#: Tiers this machine can run, lowest first; every kernel test runs on each.
CPU_TIERS: list[str] = simd.capabilities()["cpu"]


def pytest_report_header(config: pytest.Config) -> str:
    return simd._runtime.runtime_report()


@pytest.fixture(params=CPU_TIERS)
def isa(request: pytest.FixtureRequest) -> Iterator[str]:
    """The kernels capped at one tier for the duration of the test."""
    with simd.use_isa(request.param):
        yield request.param


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
