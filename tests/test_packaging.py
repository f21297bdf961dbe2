"""The sdist and wheel build, the wheel carries what a user needs and no more (stripped, with its
license and types), installs into a fresh venv and works from outside the source tree; nothing
generated is tracked by git; and, asked to, the tests check they import the installed copy."""

from __future__ import annotations

import platform
import struct
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import INSTALLED, PACKAGE, ROOT, installed_problem, needs_source


def elf_sections(data: bytes) -> list[str]:
    """The section names of a 64-bit little-endian ELF file."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LE ELF file"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    entsize, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * entsize) for i in range(count)]
    names_at = headers[names_index][4]
    return [data[names_at + name:data.index(b"\0", names_at + name)].decode()
            for name, *_ in headers]


def unstripped(sections: list[str]) -> list[str]:
    """Sections a stripped module does not carry: debug info and the static symbol table."""
    return [name for name in sections if name.startswith(".debug") or name == ".symtab"]


@pytest.mark.skipif(platform.system() != "Linux", reason="ELF sections: Linux builds")
def test_the_compiled_kernels_are_stripped() -> None:
    """setup.py links with -s: 0.4 MB of code without 2.3 MB of debug info (a build made with
    LATTICE_EMBED_KEEP_SYMBOLS=1 for profiling fails this, as it should not ship)."""
    from lattice_embed._kernels import _core

    data = Path(_core.__file__).read_bytes()
    sections = elf_sections(data)
    assert ".text" in sections and ".dynsym" in sections  # a real module, still loadable
    assert unstripped(sections) == [], f"{_core.__file__} ({len(data):,} bytes)"
    assert len(data) < 1_000_000, len(data)


@pytest.mark.skipif(not INSTALLED, reason="LATTICE_EMBED_TEST_INSTALLED=1 not set: the tests "
                    "run on whatever `import lattice_embed` finds (.ci/wheel sets it)")
def test_the_package_under_test_is_the_installed_one() -> None:
    assert installed_problem() is None, installed_problem()
    assert ROOT not in PACKAGE.parents


WHEEL_PACKAGE_FILES = ("py.typed", "data/corpus.txt", "_kernels/_core.pyi")


def check_wheel_contents(names: list[str], metadata: str) -> None:
    """Python modules, the compiled module, its stub, the typing marker, the demo's corpus and
    the license: no C, Cython or header sources, no build leftovers."""
    package = [name.removeprefix("lattice_embed/") for name in names
               if name.startswith("lattice_embed/")]
    info = [name.split("/", 1)[1] for name in names if ".dist-info/" in name]
    others = [name for name in names if not name.startswith("lattice_embed/")
              and ".dist-info/" not in name]
    assert others == []
    extension = [name for name in package if name.startswith("_kernels/_core.")
                 and name.endswith(".so")]
    assert len(extension) == 1, extension
    unexpected = [name for name in package if not name.endswith(".py")
                  and name not in (*WHEEL_PACKAGE_FILES, *extension)]
    assert unexpected == []
    assert set(WHEEL_PACKAGE_FILES) <= set(package)
    assert "licenses/LICENSE" in info, info
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata


@pytest.mark.slow
@needs_source("setup.py", "lattice_embed/_kernels/src")
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
    assert any(name.endswith("/LICENSE") for name in names)
    with zipfile.ZipFile(wheel) as archive:
        wheel_names = archive.namelist()
        metadata = archive.read(next(name for name in wheel_names
                                     if name.endswith(".dist-info/METADATA"))).decode()
        so_name = next(name for name in wheel_names if name.endswith(".so"))
        so_data = archive.read(so_name)
    check_wheel_contents(wheel_names, metadata)
    if platform.system() == "Linux":
        assert unstripped(elf_sections(so_data)) == [] and len(so_data) < 1_000_000

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


@needs_source(".git")
def test_git_tracks_no_build_outputs() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    generated = [name for name in tracked
                 if name.endswith((".so", ".o", ".whl")) or name == "lattice_embed/_kernels/_core.c"]
    assert generated == []
