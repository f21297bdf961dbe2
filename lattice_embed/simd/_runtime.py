"""What the kernels run on: capability report, human-readable runtime summary, tier override."""

from __future__ import annotations

import contextlib
import platform
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from lattice_embed._kernels import _core

#: Every tier name this library knows, on any architecture, lowest first per architecture.
ISA_NAMES: tuple[str, ...] = _core.ISA_NAMES


def capabilities() -> dict[str, Any]:
    """What the kernels can and do run on.

    ``compiled``: tiers built into this extension; ``cpu``: those this CPU (and OS) can run;
    ``active``: the tier in use (the best one, or the cap set by ``LATTICE_EMBED_ISA`` or
    ``use_isa``); ``override``: the tier ``LATTICE_EMBED_ISA`` asked for, or None; ``kernels``:
    the tier serving each kernel now (a kernel without an implementation at the active tier uses
    the best one below it); ``features``: the CPU features the kernels care about; ``threads``:
    what ``threads=None`` may use (the cores this process may run on, and the count
    ``LATTICE_EMBED_NUM_THREADS`` sets, or None).
    """
    return {
        "compiled": _core.compiled_isas(),
        "cpu": _core.cpu_isas(),
        "active": _core.isa_cap(),
        "override": _core.ENV_ISA,
        "kernels": _core.kernel_isas(),
        "features": _core.cpu_features(),
        "threads": {"cores": _core.CORES, "env": _core.ENV_THREADS},
    }


def runtime_info() -> dict[str, Any]:
    """What `lattice-embed info --json` prints: the version, Python, platform, numpy and build
    beside `capabilities()`."""
    from lattice_embed import __version__

    return {
        "lattice_embed": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "numpy": np.__version__,
        "build": _core.BUILD_INFO,
        **capabilities(),
    }


def runtime_report() -> str:
    """The text ``show_runtime()`` prints."""
    info = runtime_info()
    present = [name for name, present in info["features"].items() if present]
    threads = info["threads"]
    lines = [
        f"lattice_embed {info['lattice_embed']}",
        f"python        {info['python']} ({info['implementation']})",
        f"platform      {info['platform']} ({info['machine']})",
        f"numpy         {info['numpy']}",
        f"build         {info['build']}",
        f"cpu features  {', '.join(present) or 'none beyond the baseline'}",
        f"compiled      {', '.join(info['compiled'])}",
        f"cpu tiers     {', '.join(info['cpu'])}",
        f"active        {info['active']}"
        + (f" (LATTICE_EMBED_ISA={info['override']})" if info["override"] else ""),
        f"threads       {threads['cores']} cores"
        + (f" (LATTICE_EMBED_NUM_THREADS={threads['env']})" if threads["env"] else ""),
        "kernels",
    ]
    lines += [f"  {kernel:<16}{tier}" for kernel, tier in info["kernels"].items()]
    return "\n".join(lines)


def show_runtime() -> None:
    """Print version, platform, build flags, CPU features and the tier of every kernel."""
    print(runtime_report())


#: Held for the whole of a use_isa block: the cap is one process-wide value, so two threads'
#: blocks must not overlap (each would restore what the other set). Re-entrant for nesting.
_ISA_LOCK = threading.RLock()


@contextlib.contextmanager
def use_isa(tier: str) -> Iterator[None]:
    """Run the block with the kernels capped at ``tier`` (``"scalar"``, ``"avx2"``, ...).

    Process-wide (every thread sees the cap) and meant for tests, benchmarks and debugging.
    A block in another thread waits until this one ends, so each block runs at its own tier and
    the cap always ends where it started; blocks nest within a thread. (So a block must not wait
    for another thread that enters ``use_isa`` itself.) An unknown name raises ``ValueError``
    listing the valid names; a tier that is not compiled in or that needs a CPU feature this
    machine lacks raises ``RuntimeError`` naming what is missing. The previous cap is restored on
    exit.
    """
    with _ISA_LOCK:
        previous = _core.isa_cap()
        _core.set_isa_cap(tier)
        try:
            yield
        finally:
            _core.set_isa_cap(previous)
