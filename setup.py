"""Build of the compiled kernels: one extension, one portable baseline, ISA code in target regions."""

import os
import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

KERNELS = "lattice_embed/_kernels"


def baseline_flags():
    """The instruction-set baseline of the whole extension; faster tiers are chosen at run time."""
    if os.environ.get("LATTICE_EMBED_MARCH_NATIVE") == "1":  # local benchmarking only
        return ["-march=native"]
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return ["-march=x86-64"]
    if machine in ("aarch64", "arm64"):
        return ["-march=armv8-a"]
    return []


# Never -ffast-math: NaN must propagate and sums keep their order. Nothing reads errno or the
# floating-point exception flags, so the two flags below change no value; they let loops with
# sqrtf or a select vectorize (the cosines of one query's rows).
CFLAGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", *baseline_flags()]
DEBUG = os.environ.get("LATTICE_EMBED_CYTHON_DEBUG") == "1"


def link_flags():
    """Ship the extension stripped (Python's -g makes it 2.7 MB of debug info around ~0.4 MB of
    code); LATTICE_EMBED_KEEP_SYMBOLS=1 keeps symbols and debug info for profiling."""
    if os.environ.get("LATTICE_EMBED_KEEP_SYMBOLS") == "1" or platform.system() != "Linux":
        return []  # macOS keeps debug info in the object files, not in the linked module
    return ["-s"]

kernels = Extension(
    "lattice_embed._kernels._core",
    sources=[
        f"{KERNELS}/_core.pyx",
        *sorted(f"{KERNELS}/src/{name}" for name in os.listdir(f"{KERNELS}/src") if name.endswith(".c")),
    ],
    include_dirs=[f"{KERNELS}/include", numpy.get_include()],
    define_macros=[
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("LE_BUILD_FLAGS", '"' + " ".join(CFLAGS) + '"'),
    ],
    extra_compile_args=CFLAGS,
    extra_link_args=link_flags(),
)

setup(
    ext_modules=cythonize(
        [kernels],
        compiler_directives={
            "language_level": 3,
            "binding": True,
            "embedsignature": True,
            "boundscheck": DEBUG,
            "wraparound": DEBUG,
            "initializedcheck": DEBUG,
            "cdivision": not DEBUG,
        },
    ),
)
