"""The machine's read floor for the benchmarks: `read_floor.c`, built once per process with the
machine's own flags (a C compiler is needed) and called through ctypes, which releases the GIL."""

from __future__ import annotations

import ctypes
import functools
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("read_floor.c")


@functools.cache
def _library() -> ctypes.CDLL:
    folder = Path(tempfile.mkdtemp(prefix="read-floor-"))
    library = folder / "libreadfloor.so"
    compiler = os.environ.get("CC", "cc")
    subprocess.run([compiler, "-O3", "-march=native", "-shared", "-fPIC", "-pthread",
                    str(SOURCE), "-o", str(library)], check=True)
    loaded = ctypes.CDLL(str(library))
    loaded.read_floor.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int]
    loaded.read_floor.restype = ctypes.c_int
    return loaded


def read_floor(array: np.ndarray, threads: int = 1, streams: int = 4) -> Callable[[], None]:
    """A call that reads `array`'s bytes once: `threads` threads, `streams` streams each."""
    if not array.flags.c_contiguous:
        raise ValueError("read_floor reads a C-contiguous array")
    if not 1 <= threads <= 16 or streams not in (1, 2, 4, 8):
        raise ValueError(f"threads 1-16 and streams 1, 2, 4 or 8, not {threads} and {streams}")
    function, address, size = _library().read_floor, array.ctypes.data, array.nbytes

    def read() -> None:
        if function(address, size, threads, streams) != 0:
            raise RuntimeError("read_floor could not start its threads")

    return read
