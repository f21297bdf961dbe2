"""Shared fixtures: the `isa` fixture runs a test once per tier this CPU can run; what a test
needs (a tool, a Python package, a file of the source checkout) and the check that the package
under test is the installed one when `LATTICE_EMBED_TEST_INSTALLED=1` asks for that."""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

import lattice_embed
from lattice_embed import simd

#: The folder that holds tests/: the source checkout, an unpacked sdist, or a copy of tests/
#: made to test an installed wheel (.ci/wheel, cibuildwheel's test-sources), which has no
#: lattice_embed/ sources, .ci/ or .git beside it.
ROOT = Path(__file__).resolve().parent.parent

#: The package under test: the folder `import lattice_embed` found.
PACKAGE = Path(lattice_embed.__file__).resolve().parent

#: Set by .ci/wheel and cibuildwheel: the tests must import an installed (non-editable) copy.
INSTALLED = os.environ.get("LATTICE_EMBED_TEST_INSTALLED") == "1"


def installed_problem() -> str | None:
    """Why the imported lattice_embed is not an installed copy, or None when it is: it must sit
    in this interpreter's site-packages, outside the folder of the tests, with its compiled
    kernels beside it, and not be an editable install."""
    import json
    from importlib import metadata

    site = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    if PACKAGE.parent not in site:
        return f"lattice_embed was imported from {PACKAGE}, not from {sorted(map(str, site))}"
    if ROOT == PACKAGE.parent or ROOT in PACKAGE.parents:
        return f"lattice_embed was imported from the tests' own folder {ROOT}"
    from lattice_embed._kernels import _core

    kernels = Path(_core.__file__).resolve()
    if kernels.parent != PACKAGE / "_kernels":
        return f"the compiled kernels came from {kernels}, not from {PACKAGE / '_kernels'}"
    direct = metadata.distribution("lattice-embed").read_text("direct_url.json")
    if direct and json.loads(direct).get("dir_info", {}).get("editable"):
        return f"lattice-embed is an editable install: {direct}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    if INSTALLED:
        problem = installed_problem()
        if problem is not None:
            raise pytest.UsageError(f"LATTICE_EMBED_TEST_INSTALLED=1: {problem}")


def source_missing(*paths: str) -> str | None:
    """Why a test that reads these files of the source checkout cannot run here, or None."""
    missing = [path for path in paths if not (ROOT / path).exists()]
    if not missing:
        return None
    return (f"needs {', '.join(missing)} of the source checkout, absent from {ROOT} "
            "(the tests of an installed wheel or an sdist)")


def require_source(*paths: str) -> Path:
    """Skip, with the reason, when files of the source checkout are absent; else ROOT."""
    reason = source_missing(*paths)
    if reason is not None:
        pytest.skip(reason)
    return ROOT


def needs_source(*paths: str) -> pytest.MarkDecorator:
    """A skipif mark for a module or test that reads these files of the source checkout."""
    reason = source_missing(*paths)
    return pytest.mark.skipif(reason is not None, reason=reason or "")

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
    where = f"lattice_embed imported from {PACKAGE} (python {sys.executable})"
    return f"{where}\n{simd._runtime.runtime_report()}"


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
