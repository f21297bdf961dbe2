"""Every speed figure of README.md and benchmarks/README.md comes from the committed results, by
benchmarks/report.py, and every results file names the machine it was measured on."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT, needs_source

pytestmark = needs_source("benchmarks/report.py", "benchmarks/results", "README.md")


def test_the_generated_sections_match_the_results_files() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "report.py"), "--check"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_the_speed_section_has_no_hand_written_figures() -> None:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Speed\n"):text.index("\n## ", text.index("## Speed\n") + 1)]
    generated = re.search(r"<!-- report\.py: speed -->\n(.*?)<!-- /report\.py -->", section,
                          flags=re.DOTALL)
    assert generated is not None and "| case |" in generated.group(1)
    by_hand = section.replace(generated.group(0), "")
    assert not re.search(r"\d\s*(ns|us|ms|s\b|x\b|sentences/s)", by_hand), by_hand


@pytest.mark.parametrize("path", sorted((ROOT / "benchmarks" / "results").glob("*.json")),
                         ids=lambda path: path.name)
def test_every_results_file_names_its_machine(path: object) -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.machine import describe
    finally:
        sys.path.remove(str(ROOT))
    data = json.loads(path.read_text())  # type: ignore[attr-defined]
    line = describe(data["machine_info"])
    assert "(Zen" in line or "Rapids" in line or "(family" in line, line
    assert data.get("commit_info", {}).get("id"), "no commit recorded"


def test_the_machine_names_come_from_cpuid_family_and_model() -> None:
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.machine import describe
    finally:
        sys.path.remove(str(ROOT))
    zen3 = {"cpu": {"brand_raw": "AMD EPYC", "vendor_id_raw": "AuthenticAMD", "family": 25,
                    "model": 1, "flags": ["avx2", "fma"], "count": 2}}
    zen4 = {"cpu": {**zen3["cpu"], "model": 17,
                    "flags": ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16"]}}
    spr = {"cpu": {"brand_raw": "Intel(R) Xeon(R) Platinum 8481C", "vendor_id_raw":
                   "GenuineIntel", "family": 6, "model": 143,
                   "flags": ["avx2", "avx512f", "avx512_vnni", "amx_tile"]}}
    assert describe(zen3) == "AMD EPYC (Zen 3), AVX2 and FMA, no AVX-512, 2 cores"
    assert describe(zen4) == "AMD EPYC (Zen 4), AVX-512 with VNNI, BF16, 2 cores"
    assert describe(spr).startswith("Intel(R) Xeon(R) Platinum 8481C (Sapphire Rapids), "
                                    "AVX-512 with VNNI, AMX")
