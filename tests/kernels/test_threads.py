"""Kernels release the GIL: another thread runs Python code while one is inside a kernel.

Deterministic, not timed: with a switch interval of minutes, the only way the main thread can get
the GIL back while the worker is still inside its kernel call is for the kernel to release it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from lattice_embed import simd

BIG = np.ones(1 << 25, np.float32)  # 128 MiB: a kernel call of milliseconds


@pytest.fixture
def no_forced_switches() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(300.0)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


@pytest.mark.usefixtures("no_forced_switches")
@pytest.mark.parametrize("call", [
    lambda: simd.norm(BIG),
    lambda: simd.dot_product(BIG, BIG),
    lambda: simd.normalize(BIG),
], ids=["norm", "dot_product", "normalize"])
def test_main_thread_runs_while_a_kernel_runs(isa: str, call: Callable[[], object]) -> None:
    entering, finished = threading.Event(), []

    def worker() -> None:
        entering.set()  # wakes the main thread, which then waits for the GIL
        call()  # the worker keeps the GIL from set() to here, then the kernel drops it
        finished.append(True)

    thread = threading.Thread(target=worker)
    thread.start()
    entering.wait()
    seen_while_running = not finished
    thread.join()
    assert seen_while_running, "the main thread only ran after the kernel returned: GIL held"
