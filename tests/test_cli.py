"""`lattice-embed info` / `python -m lattice_embed info` and the quick benchmark."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lattice_embed import simd
from lattice_embed.cli import main


def test_module_entry_point_prints_the_runtime() -> None:
    result = subprocess.run([sys.executable, "-m", "lattice_embed", "info"], capture_output=True,
                            text=True, check=True)
    assert f"active        {simd.capabilities()['active']}" in result.stdout
    assert "build         " in result.stdout


def test_bench_prints_a_ratio_per_operation(capsys) -> None:
    assert main(["bench", "--dims", "16", "--seconds", "0.01"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.split() and line.split()[-1].endswith("x")]
    assert {row.split()[0] for row in rows} >= {"dot_product", "cosine_similarity", "normalize"}
    assert all(float(row.split()[-1].rstrip("x")) > 0 for row in rows)


def test_unknown_command_exits_with_usage(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
