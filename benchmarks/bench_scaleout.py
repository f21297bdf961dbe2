"""The engine on PostgreSQL and Ray: backfill throughput with 1 and 2 Ray workers, and search with
pgvector against the in-process search, on a PostgreSQL 16 + pgvector from the pgserver wheel.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.bench_scaleout \
        [--texts 1536] [--rows 100000] [--json benchmarks/results/scaleout.json]

* **backfill**: `--texts` texts of about 20 words migrated from a model-free source to
  all-MiniLM-L6-v2 (native, one thread per worker) in batches of 64: the plain runner in this
  process (`Engine.run`, 1 thread), then `run_on_ray` with 1 and with 2 workers on a local
  cluster. Rates are documents per second from the first runner starting the backfill (its model
  loads after that, as a first batch's would) to completion, read from the event log, so Ray's
  own start (about 5 s) is left out; the wall time of each whole run is reported beside it.
* **search**: one query against a `--rows` x 384 space (random unit vectors), k = 10:
  `Engine.search_vector(via="memory")` (`simd.top_k` on the space held in memory, default
  threads) against `via="store"` (pgvector's exact `<=>` scan, one backend). No HNSW row:
  random unit vectors are HNSW's worst case (recall@10 0.01 at pgvector's default
  `ef_search`, a 6-minute build here), so a figure from them would mislead.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.bench_engine import BATCH, DIMS, RandomEncoder, stored_space, texts  # noqa: E402
from lattice_embed.engine import Engine  # noqa: E402
from lattice_embed.engine.models import NativeEncoder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _server(folder: Path) -> Any:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    import pgserver

    return pgserver.get_server(folder / "pg", cleanup_mode="stop")


def _database(server: Any, name: str) -> str:
    import psycopg

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(name))


def _prepared(server: Any, name: str, docs: dict[str, str]) -> str:
    """A database whose documents sit in a model-free space, planned to MiniLM."""
    url = _database(server, name)
    source = RandomEncoder("random-source", DIMS)
    minilm = NativeEncoder("all-minilm-l6-v2", threads=1)
    with Engine.open(url, encoders={"random-source": source,
                                    "all-minilm-l6-v2": minilm}.__getitem__) as engine:
        engine.add(docs, model="random-source")
        engine.plan("all-minilm-l6-v2", batch_size=BATCH)
    return url


def _rate(url: str, total: int) -> float:
    with Engine.open(url) as engine:
        events = engine.events()
    joined = min(datetime.fromisoformat(e.at.rstrip("Z")) for e in events
                 if e.kind in ("started", "run"))  # the first runner starts the backfill
    done = max(datetime.fromisoformat(e.at.rstrip("Z")) for e in events if e.kind == "completed")
    return total / (done - joined).total_seconds()


def backfill(server: Any, count: int, temp: Path) -> list[dict[str, Any]]:
    from lattice_embed.engine.ray_backfill import run_on_ray
    from lattice_embed.engine.runner import BackfillRunner

    docs = {f"t{i}": text for i, text in enumerate(texts(count))}
    rows = []
    for label, workers in (("plain runner, 1 thread", 0), ("Ray, 1 worker", 1),
                           ("Ray, 2 workers", 2)):
        url = _prepared(server, f"bench_backfill_{workers}", docs)
        start = time.perf_counter()
        if workers == 0:
            with Engine.open(url, threads=1) as engine:
                report = BackfillRunner(engine, progress=False).run()
        else:
            report = run_on_ray(url, workers=workers, threads=1, progress=False,
                                temp_dir=tempfile.mkdtemp(prefix="lr-", dir="/tmp"))
        wall = time.perf_counter() - start
        assert report.outcome == "completed", report
        rows.append({"case": label, "documents_per_second": _rate(url, count),
                     "wall_seconds": wall})
        print(f"  {label:<24} {rows[-1]['documents_per_second']:7.1f} docs/s "
              f"(whole run {wall:.1f} s)")
    return rows


def search(server: Any, rows: int, rounds: int = 9) -> list[dict[str, Any]]:
    engine, _ = stored_space(_database(server, "bench_search"), rows)
    queries = np.random.default_rng(1).standard_normal((rounds, DIMS)).astype(np.float32)
    engine.search_vector(queries[0], 10)  # loads the space into memory once

    def timed(via: str) -> tuple[list[float], list[list[str]]]:
        times, answers = [], []
        for query in queries:
            start = time.perf_counter()
            answers.append([h.id for h in engine.search_vector(query, 10, via=via).results])
            times.append(time.perf_counter() - start)
        return times, answers

    memory_t, exact = timed("memory")
    store_t, store_answers = timed("store")
    assert store_answers == exact, "pgvector's exact answer differs from the in-memory one"
    engine.close()
    out = [
        {"case": "in memory (simd.top_k)", "best_ms": min(memory_t) * 1e3,
         "median_ms": float(np.median(memory_t)) * 1e3},
        {"case": "pgvector exact", "best_ms": min(store_t) * 1e3,
         "median_ms": float(np.median(store_t)) * 1e3},
    ]
    for row in out:
        print(f"  {row['case']:<24} best {row['best_ms']:8.2f} ms, median "
              f"{row['median_ms']:8.2f} ms")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=1536)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    temp = Path(tempfile.mkdtemp(prefix="bench-scale-", dir="/tmp"))
    server = _server(temp)
    try:
        from benchmarks.machine import describe, results_header

        print(f"machine: {describe(results_header(ROOT)['machine_info'])}")
        print(f"backfill, {args.texts} texts, batches of {BATCH}, all-MiniLM-L6-v2:")
        backfill_rows = backfill(server, args.texts, temp)
        print(f"search, 1 query against {args.rows:,} x {DIMS}, k = 10:")
        search_rows = search(server, args.rows)
    finally:
        server.cleanup()
        shutil.rmtree(temp, ignore_errors=True)
    if args.json:
        from benchmarks.machine import results_header

        args.json.write_text(json.dumps({
            **results_header(ROOT), "texts": args.texts,
            "rows": args.rows, "backfill": backfill_rows, "search": search_rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
