"""The main job's second half: migrate the embedded corpus to another model, for real, offline.

`run_migration_demo()` stores the packaged corpus (771 sentences) embedded with all-MiniLM-L6-v2
in a SQLite file, then migrates it to a second model made offline from the same weights with CLS
pooling instead of mean pooling (the only other model this machine can get without the
internet; a genuinely different model, as the quality gate's overlap shows). On the way it writes
during the backfill, gates, cuts over, searches both ways and rolls back, and prints the event
log.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from ..model import Pooling
from ..service.demo import QUERIES, load_corpus
from ..service.folder import write_pooled_folder
from .engine import Engine
from .models import resolve_reference
from .records import GateConfig

__all__ = ["run_migration_demo"]


def _hits(engine: Engine, query: str, out: TextIO) -> None:
    result = engine.search(query, k=2)
    texts = engine.documents([hit.id for hit in result.results])
    print(f"  search {query!r} on {Path(result.model).name}:", file=out)
    for hit in result.results:
        print(f"    {hit.score:.3f}  {texts[hit.id]}", file=out)


def run_migration_demo(out: TextIO = sys.stdout, *, folder: Path | None = None) -> int:
    """Run the migration walk-through in `folder` (default: a temporary folder); returns 0."""
    with tempfile.TemporaryDirectory(prefix="lattice-migrate-") as scratch:
        work = folder or Path(scratch)
        _, minilm, _ = resolve_reference("all-minilm-l6-v2")
        target = work / "minilm-cls"
        write_pooled_folder(minilm, target, Pooling.CLS)
        corpus = load_corpus()
        docs = {f"s{i:03d}": text for i, text in enumerate(corpus)}
        with Engine.open(work / "corpus.db") as engine:
            start = time.perf_counter()
            engine.add(docs, model="all-minilm-l6-v2")
            print(f"stored {len(docs)} sentences embedded with all-minilm-l6-v2 in "
                  f"{time.perf_counter() - start:.2f} s ({work / 'corpus.db'})", file=out)
            _hits(engine, QUERIES[0], out)

            record = engine.plan(str(target), batch_size=64, gate=GateConfig(min_overlap=0.3))
            print(f"\nplanned {record.id}: -> {target.name} (the same weights, CLS pooling), "
                  f"{record.plan['total_embeddings']} documents, gate: overlap@10 >= 0.30",
                  file=out)
            start = time.perf_counter()
            engine.run(max_batches=6, progress=False)
            status = engine.status()
            print(f"backfill stopped at {status.processed}/{status.total}; reads still on "
                  f"{Path(status.query_model or '').name}; writes go to both spaces", file=out)
            engine.add({"s000": "Fresh sourdough needs a long, slow rise.",
                        "new": "Our bakery opens at seven with warm baguettes."})
            engine.delete(["s700"])  # not reached yet: it will count as skipped
            print("  meanwhile: 1 update, 1 new document, 1 delete", file=out)
            report = engine.run(progress=False)
            seconds = time.perf_counter() - start
            status = engine.status()
            gate = status.gate
            print(f"{report.message} ({seconds:.2f} s in all); gate overlap@10 "
                  f"{gate.overlap if gate and gate.overlap is not None else float('nan'):.3f}",
                  file=out)
            print(f"  processed {status.processed}, skipped {status.skipped} (the deleted one), "
                  f"spaces: " + ", ".join(f"{Path(s.name).name} {s.vectors} vectors"
                                          for s in status.spaces), file=out)
            _hits(engine, QUERIES[0], out)
            engine.rollback()
            left = status.rollback_window_left_secs or 0.0
            print(f"\nrolled back with {left / 3600:.1f} h of the window left: reads on "
                  f"{Path(engine.status().query_model or '').name} again, nothing lost", file=out)
            _hits(engine, QUERIES[0], out)
            print("\nevent log:", file=out)
            for event in engine.events():
                print(f"  {event.at}  {event.kind:<14} {event.reason}", file=out)
    return 0
