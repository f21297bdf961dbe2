"""The sdist and wheel build, and the wheel installs into a fresh venv and works from outside the
source tree, with nothing generated tracked by git."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def test_sdist_and_wheel_install_and_run_outside_the_tree(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], check=True,
                   capture_output=True, text=True)
    sdist, = dist.glob("*.tar.gz")
    wheel, = dist.glob("*.whl")

    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    for needed in ("include/le/kernels.h", "src/dispatch.c", "src/dense_avx512.c", "_core.pyx",
                   "_cdefs.pxd", "tests/c/test_kernels_main.c"):
        assert any(name.endswith(needed) for name in names), needed
    assert not any(name.endswith((".so", "_kernels/_core.c")) for name in names)
    with zipfile.ZipFile(wheel) as archive:  # the demo's corpus and the typing marker ship too
        assert {"lattice_embed/data/corpus.txt", "lattice_embed/py.typed"} <= set(archive.namelist())

    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True, text=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = ("import lattice_embed, numpy as np, lattice_embed.simd as s;"
             "assert 'site-packages' in lattice_embed.__file__, lattice_embed.__file__;"
             "print(s.dot_product(np.ones(5), np.ones(5)), s.capabilities()['active'])")
    result = subprocess.run([str(python), "-c", check], cwd=elsewhere, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "5.0"
    info = subprocess.run([str(env_dir / "bin" / "lattice-embed"), "info"], cwd=elsewhere,
                          capture_output=True, text=True, check=False)
    assert info.returncode == 0 and "dot_f32" in info.stdout


def test_git_tracks_no_build_outputs() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    generated = [name for name in tracked
                 if name.endswith((".so", ".o", ".whl")) or name == "lattice_embed/_kernels/_core.c"]
    assert generated == []
