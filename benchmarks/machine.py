"""Which machine a result file was measured on, in words: the CPU's microarchitecture from its
CPUID family and model (the brand string on these shared VMs is just "AMD EPYC"), its vector
extensions, and the tier lattice_embed ran.

Every results file records this: pytest-benchmark's `machine_info` (cpuinfo's family, model and
flags; benchmarks/conftest.py adds a `lattice_embed` entry with the name and tier), and the
interleaved embedding rounds write the same entry.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

#: (vendor, family, first model, last model) -> microarchitecture. AMD family 25 (0x19) is Zen 3
#: and Zen 4 by model range; 26 (0x1A) is Zen 5. Intel family 6 models by number.
MICROARCHITECTURES: list[tuple[str, int, int, int, str]] = [
    ("AuthenticAMD", 23, 0x30, 0x3F, "Zen 2"),
    ("AuthenticAMD", 25, 0x00, 0x0F, "Zen 3"),
    ("AuthenticAMD", 25, 0x20, 0x2F, "Zen 3"),
    ("AuthenticAMD", 25, 0x40, 0x5F, "Zen 3"),
    ("AuthenticAMD", 25, 0x10, 0x1F, "Zen 4"),
    ("AuthenticAMD", 25, 0x60, 0x7F, "Zen 4"),
    ("AuthenticAMD", 25, 0xA0, 0xAF, "Zen 4"),
    ("AuthenticAMD", 26, 0x00, 0xFF, "Zen 5"),
    ("GenuineIntel", 6, 0x55, 0x55, "Skylake-SP / Cascade Lake"),
    ("GenuineIntel", 6, 0x6A, 0x6A, "Ice Lake-SP"),
    ("GenuineIntel", 6, 0x8F, 0x8F, "Sapphire Rapids"),
    ("GenuineIntel", 6, 0xCF, 0xCF, "Emerald Rapids"),
]


def microarchitecture(vendor: str, family: int, model: int) -> str | None:
    for maker, fam, first, last, name in MICROARCHITECTURES:
        if (maker, fam) == (vendor, family) and first <= model <= last:
            return name
    return None


def vector_extensions(flags: list[str]) -> str:
    """What the tiers care about: AVX-512 (with VNNI, BF16) or AVX2, from the CPU flags."""
    have = set(flags)
    if "avx512f" in have:
        extras = [name for flag, name in (("avx512_vnni", "VNNI"), ("avx512vnni", "VNNI"),
                                          ("avx512_bf16", "BF16"), ("avx512bf16", "BF16"),
                                          ("amx_tile", "AMX"))
                  if flag in have]
        return "AVX-512" + (f" with {', '.join(dict.fromkeys(extras))}" if extras else "")
    if "avx2" in have:
        return "AVX2 and FMA, no AVX-512" if "fma" in have else "AVX2, no AVX-512"
    if "asimd" in have or "neon" in have:
        return "NEON"
    return "no AVX2"


def describe(machine_info: dict[str, Any]) -> str:
    """One line naming the machine of a pytest-benchmark `machine_info` (or our own files')."""
    cpu = machine_info.get("cpu", {})
    ours = machine_info.get("lattice_embed", {})
    brand = cpu.get("brand_raw", "unknown CPU")
    arch = microarchitecture(cpu.get("vendor_id_raw", ""), cpu.get("family", -1),
                             cpu.get("model", -1))
    name = f"{brand} ({arch})" if arch else f"{brand} (family {cpu.get('family')} model " \
        f"{cpu.get('model')})"
    parts = [name, vector_extensions(cpu.get("flags", []))]
    if cpu.get("count"):
        parts.append(f"{cpu['count']} cores")
    if ours.get("tier"):
        parts.append(f"active tier `{ours['tier']}`")
    if machine_info.get("python_version"):
        parts.append(f"Python {machine_info['python_version']}")
    return ", ".join(parts)


def machine_facts() -> dict[str, Any]:
    """What benchmarks/conftest.py adds to every results file under `lattice_embed`."""
    from lattice_embed import __version__, simd

    caps = simd.capabilities()
    return {
        "version": __version__,
        "tier": caps["active"],
        "cpu_tiers": caps["cpu"],
        "cores": caps["threads"]["cores"],
        "numpy_blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "platform": platform.platform(),
    }


def results_header(root: Path) -> dict[str, Any]:
    """The head of a results file written by a script (not by pytest-benchmark): the machine,
    the commit measured and whether the code measured had changes, and when."""
    import datetime
    import subprocess

    import cpuinfo

    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                            text=True, check=False).stdout.strip()
    # Changes to the code measured (results files written by earlier suites do not count).
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                 ".", ":(exclude)benchmarks/results"],
                                cwd=root, capture_output=True, text=True,
                                check=False).stdout.strip())
    return {
        "machine_info": {"cpu": cpuinfo.get_cpu_info(), "python_version":
                         platform.python_version(), "lattice_embed": machine_facts()},
        "commit_info": {"id": commit, "dirty": dirty},
        "datetime": datetime.datetime.now(datetime.timezone.utc).isoformat(),
    }
