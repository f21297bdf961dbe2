"""The engine's commands: `index add|delete|export`, `search`, `migrate ...` and `model derive`.

Every command takes `--db` (a SQLite file). Errors print one line on stderr and exit with
status 2; `migrate run` exits 1, with a one-line reason, when the migration stops paused,
cancelled or failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["CommandError", "add_commands"]

_ADD_CHUNK = 256
_LOCAL = "local"


class CommandError(Exception):
    """A user error found by the command itself (bad input lines, a bad option)."""


def _engine(args: argparse.Namespace) -> Any:
    from .engine import Engine

    return Engine.open(args.db, threads=getattr(args, "threads", None))


def _json(value: object) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


def _documents(stream: TextIO) -> list[tuple[str, str]]:
    """`{"id": ..., "text": ...}` lines, all checked before anything is written."""
    pairs = []
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as error:
            raise CommandError(f"line {number}: not JSON ({error})") from None
        if not (isinstance(item, dict) and isinstance(item.get("id"), str)
                and isinstance(item.get("text"), str)):
            raise CommandError(f'line {number}: expected {{"id": "...", "text": "..."}} with '
                               f"string values, got {line.strip()[:80]}")
        pairs.append((item["id"], item["text"]))
    return pairs


def _bar(total: int, unit: str, desc: str) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    return tqdm(total=total, unit=unit, desc=desc, file=sys.stderr,
                disable=not sys.stderr.isatty() or total <= _ADD_CHUNK)


def _index_add(args: argparse.Namespace) -> int:
    from .engine import _documents as check

    pairs = _documents(sys.stdin)
    check(pairs)  # every line's id and text, before the first write
    added = updated = 0
    spaces: list[str] = []
    with _engine(args) as engine, _bar(len(pairs), "doc", "index add") as bar:
        for start in range(0, len(pairs), _ADD_CHUNK):
            report = engine.add(pairs[start:start + _ADD_CHUNK], model=args.model)
            added, updated, spaces = added + report.added, updated + report.updated, report.spaces
            bar.update(report.added + report.updated)
        if args.index:
            for space in spaces:
                engine.create_index(args.index, model=space)
    print(f"added {added}, updated {updated} (spaces: {', '.join(spaces) or 'none'})"
          + (f"; {args.index} index on each" if args.index else ""), file=sys.stderr)
    return 0


def _index_delete(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        report = engine.delete(args.ids)
    print(f"deleted {report.deleted} of {len(set(args.ids))}", file=sys.stderr)
    return 0


def _index_export(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        for doc_id, vector in engine.export(args.model):
            sys.stdout.write(json.dumps({"id": doc_id, "vector": vector.tolist()}) + "\n")
    return 0


def _search(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        result = engine.search(args.text, args.k, via=args.via)
        if args.json:
            print(_json(result))
            return 0
        texts = engine.documents([hit.id for hit in result.results])
    print(f"model: {result.model}")
    for hit in result.results:
        text = " ".join(texts.get(hit.id, "").split())
        print(f"{hit.score:8.4f}  {hit.id}  {text[:100]}")
    return 0


def _labels(path: str | None) -> list[Any]:
    from .records import LabelledQuery

    if path is None:
        return []
    labels = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                relevant = item["relevant"]
                gains = ({str(doc): float(gain) for doc, gain in relevant.items()}
                         if isinstance(relevant, dict) else {str(doc): 1.0 for doc in relevant})
                labels.append(LabelledQuery(str(item["query"]), gains))
            except (ValueError, KeyError, TypeError, AttributeError) as error:
                raise CommandError(
                    f'{path} line {number}: expected {{"query": "...", "relevant": ["id", ...] '
                    f'or {{"id": gain}}}} ({type(error).__name__}: {error})') from None
    return labels


def _migrate_plan(args: argparse.Namespace) -> int:
    from .records import GateConfig

    gate = GateConfig(k=args.gate_k, sample=args.gate_sample, min_overlap=args.gate_overlap,
                      min_recall=args.gate_recall, min_ndcg=args.gate_ndcg)
    with _engine(args) as engine:
        record = engine.plan(
            args.to, batch_size=args.batch_size, threshold=args.threshold,
            rollback_window_secs=args.rollback_window, dual_write=not args.no_dual_write,
            gate=gate, labels=_labels(args.labels), manual_cutover=args.manual_cutover,
            migration_id=args.id)
        if args.index:
            engine.create_index(args.index, model=record.target)
    total = record.plan["total_embeddings"]
    print(f"planned {record.id}: {record.source} -> {record.target}, {total} documents in "
          f"batches of {args.batch_size}; run it with lattice-embed migrate run --db {args.db}")
    return 0


def _migrate_run(args: argparse.Namespace) -> int:
    if args.ray is not None:
        from .ray_backfill import run_on_ray

        report = run_on_ray(args.db, address=None if args.ray == _LOCAL else args.ray,
                            workers=args.workers, threads=args.threads or 1, rate=args.rate,
                            progress=args.progress)
    else:
        with _engine(args) as engine:
            report = engine.run(rate=args.rate, progress=args.progress)
    print(report.message, file=sys.stderr if report.exit_code else sys.stdout)
    return int(report.exit_code)


def _status_lines(status: Any) -> Iterator[str]:
    yield f"documents     {status.documents}"
    yield f"reads         {status.query_model}"
    yield f"writes        {', '.join(status.write_models)}"
    yield f"phase         {status.phase}"
    for space in status.spaces:
        yield (f"space         {space.name} ({space.dimensions}-d, fingerprint "
               f"{space.fingerprint[:12]}): {space.vectors} vectors")
    if status.migration_id is None:
        return
    done = status.processed + status.skipped
    yield f"migration     {status.migration_id}: {status.source_model} -> {status.target_model}"
    state = status.state + (f" ({status.reason})" if status.reason else "")
    yield f"state         {state}: {done}/{status.total} ({status.skipped} skipped)"
    if status.throughput:
        eta = f", eta {status.eta_secs:.0f} s" if status.eta_secs is not None else ""
        yield f"rate          {status.throughput:.1f} documents/s{eta}"
    if status.gate is not None:
        gate = status.gate
        figures = [f"overlap@{gate.k} {gate.overlap:.3f}"] if gate.overlap is not None else []
        if gate.target is not None:
            figures.append(f"recall@{gate.k} {gate.target.recall:.3f}")
            figures.append(f"nDCG@{gate.k} {gate.target.ndcg:.3f}")
        verdict = "passed" if gate.passed else "failed: " + "; ".join(gate.failures)
        yield f"gate          {', '.join(figures) or 'no figures'} ({verdict})"
    if status.awaiting_cutover:
        yield "cutover       awaiting: lattice-embed migrate cutover"
    if status.cutover_at:
        left = status.rollback_window_left_secs
        window = f", rollback possible for {left:.0f} s more" if left else ""
        yield f"cutover       {status.cutover_at}{window}"
    if status.rolled_back_at:
        yield f"rolled back   {status.rolled_back_at}"
    if status.finalized_at:
        yield f"finalized     {status.finalized_at}"


def _migrate_status(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        status = engine.status()
    if args.json:
        print(_json(status))
    else:
        print("\n".join(_status_lines(status)))
    return 0


def _migrate_events(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        events = engine.events()
    for event in events:
        if args.json:
            print(_json(event))
        else:
            print(f"{event.event_id:5d}  {event.at}  {event.migration_id}  {event.kind:15s} "
                  f"{event.reason}")
    return 0


def _control(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _engine(args) as engine:
            if action == "pause":
                record = engine.pause(args.reason)
            elif action == "cancel":
                record = engine.cancel(args.reason)
            elif action == "cutover":
                engine.cutover(force=args.force)
                record = engine.migration()
            else:
                record = getattr(engine, action)()
            print(f"{record.id}: {engine.events(record.id)[-1].reason}")
        return 0

    return run


def _migrate_gate(args: argparse.Namespace) -> int:
    with _engine(args) as engine:
        report = engine.measure_gate()
    print(_json(report))
    return 0


def _model_derive(args: argparse.Namespace) -> int:
    """A new model folder: the files of SOURCE (linked, not copied) with another pooling."""
    from ..model import Pooling
    from ..service.folder import write_pooled_folder
    from .models import resolve_reference

    _, source, _ = resolve_reference(args.source)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise CommandError(f"{out} exists and is not empty")
    write_pooled_folder(source, out, Pooling(args.pooling), normalize=not args.no_normalize)
    print(f"{out}: the weights of {args.source} with {args.pooling} pooling"
          f"{'' if args.no_normalize else ', normalized'}")
    return 0


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _seconds(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds, got {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of texts per second, got "
                                         f"{text!r}")
    return value


def add_commands(commands: Any, threads_type: Callable[[str], int]) -> None:
    """Register `index`, `search`, `migrate` and `model` on the CLI's subparsers."""

    def command(parent: Any, name: str, run: Callable[[argparse.Namespace], int], help: str,
                *, db: bool = True, threads: bool = False) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help)
        if db:
            parser.add_argument("--db", required=True, metavar="PATH",
                                help="the store: a SQLite file (created on first use) or a "
                                     "postgresql:// URL")
        if threads:
            parser.add_argument("--threads", type=threads_type, default=None,
                                help="encoder threads (default: LATTICE_EMBED_NUM_THREADS, "
                                     "else the cores)")
        parser.set_defaults(run=run)
        return parser

    index = commands.add_parser("index", help="add, delete and export stored documents")
    index_commands = index.add_subparsers(dest="index_command", required=True)
    add = command(index_commands, "add", _index_add, 'embed and store JSON Lines '
                  '{"id": ..., "text": ...} from stdin (an existing id is an update)',
                  threads=True)
    add.add_argument("--model", help="model of a new store: a registry name or a model folder "
                     "(default: all-minilm-l6-v2)")
    add.add_argument("--index", choices=("hnsw",), default=None,
                     help="also build the store's own index on each space written (PostgreSQL: "
                          "pgvector HNSW, for search --via store)")
    delete = command(index_commands, "delete", _index_delete,
                     "remove documents (and their vectors in every space)")
    delete.add_argument("ids", nargs="+", metavar="ID")
    export = command(index_commands, "export", _index_export,
                     'print {"id": ..., "vector": [...]} lines of one space')
    export.add_argument("--model", help="the space's model (default: the one reads go to)")

    search = command(commands, "search", _search,
                     "search the stored documents with the model reads are routed to",
                     threads=True)
    search.add_argument("text", metavar="TEXT")
    search.add_argument("-k", type=_positive_int, default=10, help="results (default: 10)")
    search.add_argument("--json", action="store_true",
                        help='print {"model": ..., "results": [{"id": ..., "score": ...}]}')
    search.add_argument("--via", choices=("memory", "store"), default="memory",
                        help="memory: simd.top_k on the space held in this process (exact); "
                             "store: the store's own search (PostgreSQL: pgvector, exact "
                             "unless an HNSW index exists)")

    migrate = commands.add_parser("migrate", help="move the store to another embedding model")
    steps = migrate.add_subparsers(dest="migrate_command", required=True)
    plan = command(steps, "plan", _migrate_plan,
                   "plan a migration of every stored document to another model")
    plan.add_argument("--to", required=True, metavar="MODEL",
                      help="the target: a registry name or a model folder")
    plan.add_argument("--batch-size", type=_positive_int, default=100,
                      help="documents per batch (default: 100)")
    plan.add_argument("--threshold", type=_unit_float, default=1.0,
                      help="coverage at which reads switch to the target if the gate passes "
                           "(default: 1.0, at completion)")
    plan.add_argument("--rollback-window", type=_seconds, default=86400, metavar="SECONDS",
                      help="after cutover, how long the source is kept current so a rollback "
                           "loses nothing (default: 86400)")
    plan.add_argument("--no-dual-write", action="store_true",
                      help="during the backfill, embed writes with the source only (the "
                           "backfill catches the target up before the end)")
    plan.add_argument("--gate-overlap", type=_unit_float, default=None, metavar="F",
                      help="refuse the switch and cutover below this overlap@k")
    plan.add_argument("--gate-recall", type=_unit_float, default=None, metavar="F",
                      help="refuse them below this target recall@k on --labels")
    plan.add_argument("--gate-ndcg", type=_unit_float, default=None, metavar="F",
                      help="refuse them below this target nDCG@k on --labels")
    plan.add_argument("--gate-k", type=_positive_int, default=10, help="k of the gate (10)")
    plan.add_argument("--gate-sample", type=_positive_int, default=200,
                      help="stored documents used as the gate's queries (200)")
    plan.add_argument("--labels", metavar="FILE", help='JSON Lines {"query": ..., "relevant": '
                      '[ids] or {id: gain}} for the gate\'s recall and nDCG')
    plan.add_argument("--manual-cutover", action="store_true",
                      help="do not cut over at completion; wait for migrate cutover")
    plan.add_argument("--id", help="the migration's id (default: mig-<time>-<random>)")
    plan.add_argument("--index", choices=("hnsw",), default=None,
                      help="build the store's own index on the target space (PostgreSQL: "
                           "pgvector HNSW)")

    run = command(steps, "run", _migrate_run, "run (or resume) the backfill until it is "
                  "complete; exits 1 if the migration is paused, cancelled or failed",
                  threads=True)
    run.add_argument("--rate", type=_rate, default=None, metavar="N",
                     help="at most N texts per second")
    run.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                     help="a progress bar on stderr (default: when stderr is a terminal)")
    run.add_argument("--ray", nargs="?", const=_LOCAL, default=None, metavar="ADDRESS",
                     help="spread the batches over Ray actors: on the cluster at ADDRESS, or, "
                          "with no ADDRESS, on a local cluster bound to 127.0.0.1 (needs "
                          "lattice-embed[ray]; the store must be reachable from every worker)")
    run.add_argument("--workers", type=_positive_int, default=2,
                     help="Ray actors, each with one encoder of --threads threads (default: 2)")

    status = command(steps, "status", _migrate_status, "where the store and its migration stand")
    status.add_argument("--json", action="store_true", help="one JSON object")
    events = command(steps, "events", _migrate_events, "the event log, oldest first")
    events.add_argument("--json", action="store_true", help="one JSON object per line")
    command(steps, "gate", _migrate_gate, "measure the quality gate now (JSON)", threads=True)
    pause = command(steps, "pause", _control("pause"),
                    "stop the backfill after its current batch")
    pause.add_argument("--reason", default="paused by the operator")
    command(steps, "resume", _control("resume"), "let a paused or failed backfill continue")
    cancel = command(steps, "cancel", _control("cancel"),
                     "abandon the migration: reads and writes return to the source")
    cancel.add_argument("--reason", default="cancelled by the operator")
    cutover = command(steps, "cutover", _control("cutover"), "switch reads to the completed "
                      "target and open the rollback window", threads=True)
    cutover.add_argument("--force", action="store_true", help="even below the gate's floors")
    command(steps, "rollback", _control("rollback"),
            "route reads back to the source (within the rollback window)")
    command(steps, "finalize", _control("finalize"),
            "drop the space that no longer serves (the source after cutover)")

    model = commands.add_parser("model", help="model folders")
    model_commands = model.add_subparsers(dest="model_command", required=True)
    derive = command(model_commands, "derive", _model_derive, "make a model folder from "
                     "another one's weights with another pooling (files are linked)", db=False)
    derive.add_argument("source", metavar="SOURCE", help="a registry name or a model folder")
    derive.add_argument("out", metavar="OUT", help="the new folder")
    derive.add_argument("--pooling", choices=("cls", "mean"), required=True)
    derive.add_argument("--no-normalize", action="store_true",
                        help="leave the vectors unnormalized")
