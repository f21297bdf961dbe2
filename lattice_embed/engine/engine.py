"""`Engine`: a stored corpus whose embeddings move from one model to another while it serves.

The engine keeps documents and one vector space per model in a store, routes every write and
read (`routing`), and drives a migration through the port's state machine: plan, backfill
(`runner.BackfillRunner`), a quality gate, cutover, rollback within a wall-clock window, and
finalize. Every state change is one store transaction that also appends to the event log.

    >>> engine = Engine.open("corpus.db")                 # doctest: +SKIP
    >>> engine.add({"a": "The cat sat on the mat."})      # doctest: +SKIP
    >>> engine.search("a kitten", k=5)                    # doctest: +SKIP
    >>> engine.plan("path/to/new-model")                  # doctest: +SKIP
    >>> engine.run()                                      # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import numpy.typing as npt

from ..backfill import BackfillConfig, BackfillCoordinator
from ..migration import (
    Cancelled,
    Completed,
    MigrationError,
    MigrationPlan,
    MigrationState,
    Planned,
)
from ..model import EmbeddingModel
from ..service.base import MAX_TEXT_BYTES
from .errors import MigrationConflictError, ModelMismatchError, RollbackRefusedError
from .gate import measure_gate
from .models import Encoder, EncoderFactory, NativeEncoder
from .records import (
    Event,
    GateConfig,
    GateReport,
    LabelledQuery,
    MigrationRecord,
    Space,
    SpaceSpec,
    iso_time,
)
from .routing import Routing, counts, port_state, reads_on_target, route, window_end
from .space_index import SpaceIndex
from .store import FloatMatrix, Store, Tx

if TYPE_CHECKING:
    from .runner import RunReport

__all__ = [
    "ACTIVE_SPACE",
    "Engine",
    "Hit",
    "SearchResult",
    "SpaceStatus",
    "Status",
    "WriteReport",
    "open_store",
]

ACTIVE_SPACE = "active_space"
"""The setting naming the space a store reads and writes when no migration is open."""

_WRITE_CHUNK = 256
"""Documents per write transaction in `add` (each chunk is embedded, then written at once)."""


class WriteReport(msgspec.Struct, frozen=True):
    """What `add` or `delete` did, and to which spaces."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    spaces: list[str] = []


class Hit(msgspec.Struct, frozen=True):
    id: str
    score: float


class SearchResult(msgspec.Struct, frozen=True):
    """The `search --json` document: the space that answered, and the hits, best first."""

    model: str
    results: list[Hit]


class SpaceStatus(msgspec.Struct, frozen=True):
    name: str
    dimensions: int
    fingerprint: str
    vectors: int


class Status(msgspec.Struct, frozen=True):
    """`migrate status --json`: the store, its routing, and the migration if there is one.

    `state` is the port's state name (Planned, InProgress, Paused, Completed, Failed,
    Cancelled); `phase` the routing phase (stable, migrating, rollback_window).
    """

    documents: int
    query_model: str | None
    write_models: list[str]
    phase: str
    spaces: list[SpaceStatus]
    migration_id: str | None = None
    state: str | None = None
    reason: str | None = None
    processed: int = 0
    skipped: int = 0
    total: int = 0
    source_model: str | None = None
    target_model: str | None = None
    coverage: float | None = None
    threshold: float | None = None
    dual_write: bool | None = None
    batch_size: int | None = None
    reads_on_target: bool = False
    awaiting_cutover: bool = False
    error_count: int = 0
    throughput: float | None = None
    eta_secs: float | None = None
    gate: GateReport | None = None
    cutover_at: str | None = None
    rollback_window_secs: int | None = None
    rollback_window_left_secs: float | None = None
    rolled_back_at: str | None = None
    finalized_at: str | None = None


def open_store(location: str | os.PathLike[str]) -> Store:
    """A store from a location: `postgresql://...` (or `postgres://`), else a SQLite file path."""
    text = os.fspath(location)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres_store import PostgresStore

        return PostgresStore(text)
    from .sqlite_store import SQLiteStore

    return SQLiteStore(text)


def check_identity(found: SpaceSpec, stored: SpaceSpec) -> None:
    """Refuse a model whose identity is not the space's, naming both."""
    if (found.name, found.dimensions, found.fingerprint) != (
        stored.name, stored.dimensions, stored.fingerprint
    ):
        where = found.details.get("folder") or found.source
        raise ModelMismatchError(
            f"space {stored.describe()} cannot take vectors of the model at {where}, which is "
            f"{found.describe()}: spaces are never mixed (restore the model the space was "
            "made with, or migrate to the new one)"
        )


def _nominal(spec: SpaceSpec) -> EmbeddingModel:
    """The registry model the port's `MigrationPlan` names for a space: the space's own, or for
    a folder the first registry model of its width (the engine's records name the folder)."""
    name = spec.details.get("registry_model")
    if isinstance(name, str):
        return EmbeddingModel.parse(name)
    same_width = [model for model in EmbeddingModel if model.native_dimensions == spec.dimensions]
    return same_width[0] if same_width else EmbeddingModel.default()


def _documents(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Checked `(id, text)` pairs, the last of a repeated id kept (it would overwrite anyway)."""
    pairs = items.items() if isinstance(items, Mapping) else items
    latest: dict[str, str] = {}
    for index, pair in enumerate(pairs):
        try:
            doc_id, text = pair
        except (TypeError, ValueError):
            raise TypeError(f"document {index} must be an (id, text) pair, got {pair!r}") from None
        if not isinstance(doc_id, str) or not doc_id:
            raise TypeError(f"document {index}: the id must be a non-empty str, got {doc_id!r}")
        if not isinstance(text, str):
            raise TypeError(f"document {doc_id!r}: the text must be a str, got "
                            f"{type(text).__name__}")
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as error:
            raise ValueError(f"document {doc_id!r}: the text is not valid Unicode ({error.reason} "
                             f"at character {error.start})") from None
        if size > MAX_TEXT_BYTES:
            raise ValueError(f"document {doc_id!r}: the text is {size} UTF-8 bytes; the most an "
                             f"embedding takes is {MAX_TEXT_BYTES}")
        latest.pop(doc_id, None)
        latest[doc_id] = text
    return list(latest.items())


def _fmt_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


class Engine:
    """A corpus in a store, searchable, and migratable from one embedding model to another.

    store: a `Store` (see `open_store`). encoders: makes the encoder of a model reference (a
    registry name or a folder path); the default runs the native encoder with `threads`.
    clock: wall-clock seconds (the rollback window and leases run on it; tests inject one).

    Thread-safe; several engines (in several processes) may share one store.
    """

    def __init__(
        self,
        store: Store,
        *,
        encoders: EncoderFactory | None = None,
        threads: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.clock = clock
        self._factory: EncoderFactory = encoders or (
            lambda reference: NativeEncoder(reference, threads=threads))
        self._lock = threading.Lock()
        self._encoders: dict[str, Encoder] = {}
        self._indexes: dict[tuple[int, str], SpaceIndex] = {}

    @classmethod
    def open(cls, location: str | os.PathLike[str], **options: Any) -> Engine:
        """An engine on the store at `location` (a SQLite path or a `postgresql://` URL)."""
        return cls(open_store(location), **options)

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the encoders' threads and close the store."""
        with self._lock:
            encoders, self._encoders = list(self._encoders.values()), {}
        for encoder in encoders:
            encoder.close()
        self.store.close()

    # -- models and spaces -------------------------------------------------------------------

    def encoder(self, space: Space) -> Encoder:
        """The encoder of a space, made once and checked against the space's identity."""
        with self._lock:
            found = self._encoders.get(space.name)
        if found is not None:
            check_identity(found.spec, space.spec)
            return found
        encoder = self._factory(space.spec.source)
        try:
            check_identity(encoder.spec, space.spec)
        except ModelMismatchError:
            encoder.close()
            raise
        with self._lock:
            return self._encoders.setdefault(space.name, encoder)

    def _model(self, reference: str) -> Encoder:
        """An encoder for a model reference, kept for its space's name."""
        encoder = self._factory(reference)
        with self._lock:
            kept = self._encoders.get(encoder.spec.name)
            if kept is not None and kept.spec.fingerprint == encoder.spec.fingerprint:
                encoder.close()
                return kept
            self._encoders[encoder.spec.name] = encoder
        return encoder

    def _index(self, space: Space) -> SpaceIndex:
        key = (space.space_id, space.name)
        with self._lock:
            return self._indexes.setdefault(key, SpaceIndex(space))

    @staticmethod
    def _spaces(tx: Tx) -> dict[str, Space]:
        return {space.name: space for space in tx.spaces()}

    def _routing(self, tx: Tx) -> Routing | None:
        return route(tx.get_setting(ACTIVE_SPACE), tx.migration(), self.clock())

    def routing(self) -> Routing | None:
        """Where reads and writes go now (None for an empty store); see `engine.routing`."""
        with self.store.transaction() as tx:
            return self._routing(tx)

    def space(self, reference: str) -> Space:
        """The space of a model reference (its name, alias or folder), without loading it."""
        from .models import resolve_reference

        with self.store.transaction() as tx:
            spaces = self._spaces(tx)
        if reference in spaces:
            return spaces[reference]
        try:
            name = resolve_reference(reference)[0]
        except (ValueError, FileNotFoundError):
            name = reference
        if name not in spaces:
            raise ValueError(f"the store has no space {reference!r}; its spaces: "
                             f"{', '.join(spaces) or 'none'}")
        return spaces[name]

    # -- documents ---------------------------------------------------------------------------

    def add(
        self, items: Mapping[str, str] | Iterable[tuple[str, str]], *, model: str | None = None
    ) -> WriteReport:
        """Store documents (`{id: text}` or `(id, text)` pairs), embedded with every model the
        routing writes to; an existing id is an update (its version grows).

        `model` names the model of a new, empty store (default all-minilm-l6-v2); on a store
        that has one it must be a model the store writes to.
        """
        pairs = _documents(items)
        if not pairs:
            return WriteReport()
        self._ensure_space(model)
        added = updated = 0
        spaces: list[str] = []
        for start in range(0, len(pairs), _WRITE_CHUNK):
            chunk = pairs[start:start + _WRITE_CHUNK]
            texts = [text for _, text in chunk]
            vectors: dict[str, FloatMatrix] = {}
            while True:
                with self.store.transaction() as tx:
                    routing, known = self._routing(tx), self._spaces(tx)
                assert routing is not None
                for name in routing.write_spaces:
                    if name not in vectors:
                        vectors[name] = self.encoder(known[name]).embed_documents(texts)
                written = self._write_chunk(chunk, vectors)
                if written is not None:
                    break
            docs, spaces = written
            added += sum(doc.version == 1 for doc in docs)
            updated += sum(doc.version > 1 for doc in docs)
        return WriteReport(added=added, updated=updated, spaces=spaces)

    def _write_chunk(
        self, chunk: list[tuple[str, str]], vectors: dict[str, FloatMatrix]
    ) -> tuple[list[Any], list[str]] | None:
        """Write one embedded chunk; None if the routing now wants a model not embedded yet."""
        with self.store.transaction(write=True) as tx:
            routing = self._routing(tx)
            assert routing is not None
            if any(name not in vectors for name in routing.write_spaces):
                return None
            docs = tx.upsert_documents(chunk)
            keys = [(doc.seq, doc.version) for doc in docs]
            for space in tx.spaces():
                if space.name in routing.write_spaces:
                    tx.put_vectors(space.space_id, keys, vectors[space.name])
                else:  # a space not written loses the stale vector, never serves it
                    tx.remove_vectors(space.space_id, [seq for seq, _ in keys])
            return docs, list(routing.write_spaces)

    def _ensure_space(self, model: str | None) -> None:
        with self.store.transaction() as tx:
            routing = self._routing(tx)
        if routing is not None:
            if model is not None:
                name = self._model(model).spec.name
                if name not in routing.write_spaces:
                    raise MigrationConflictError(
                        f"this store writes to {', '.join(routing.write_spaces)}; adding with "
                        f"{name} would start another space: plan a migration to it instead")
            return
        encoder = self._model(model or EmbeddingModel.default().display_name)
        with self.store.transaction(write=True) as tx:
            if tx.get_setting(ACTIVE_SPACE) is None:
                tx.create_space(encoder.spec, iso_time(self.clock()))
                tx.set_setting(ACTIVE_SPACE, encoder.spec.name)

    def delete(self, ids: Iterable[str]) -> WriteReport:
        """Remove documents and their vectors from every space; ids not stored are ignored (the
        report's `deleted` counts those that were)."""
        wanted = list(dict.fromkeys(ids))
        for doc_id in wanted:
            if not isinstance(doc_id, str):
                raise TypeError(f"ids must be str, got {doc_id!r}")
        with self.store.transaction(write=True) as tx:
            gone = tx.delete_documents(wanted)
            spaces = [space.name for space in tx.spaces()]
        return WriteReport(deleted=len(gone), spaces=spaces)

    def documents(self, ids: Sequence[str]) -> dict[str, str]:
        """The stored texts of `ids` (those that exist)."""
        with self.store.transaction() as tx:
            return {doc.id: doc.text for doc in tx.documents_by_id(list(ids))}

    # -- search ------------------------------------------------------------------------------

    def search(self, text: str, k: int = 10, *, via: str = "memory") -> SearchResult:
        """The `k` documents nearest to `text` in the space reads are routed to, embedded with
        that space's model (its query prompt, if any), by cosine similarity.

        via: "memory" searches the space held in this process with `simd.top_k` (exact; loaded
        once, then kept current with the store's writes); "store" asks the store itself
        (PostgreSQL: pgvector's exact cosine distance, or its HNSW index if one was made).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        space = self._query_space()
        vector = self.encoder(space).embed_queries([text])[0]
        return self._search(space, vector, k, via)

    def search_vector(
        self, vector: npt.ArrayLike, k: int = 10, *, model: str | None = None,
        via: str = "memory",
    ) -> SearchResult:
        """`search` with a query vector already made (for the routed space, or `model`'s)."""
        space = self.space(model) if model is not None else self._query_space()
        return self._search(space, vector, k, via)

    def create_index(self, kind: str = "hnsw", *, model: str | None = None) -> Space:
        """Build the store's own index on a space (the routed query space by default) for
        `search(via="store")`; PostgreSQL: an HNSW index (approximate) on cosine distance."""
        space = self.space(model) if model is not None else self._query_space()
        with self.store.transaction(write=True) as tx:
            tx.create_index(space.space_id, kind)
        return space

    def _query_space(self) -> Space:
        with self.store.transaction() as tx:
            routing, spaces = self._routing(tx), self._spaces(tx)
        if routing is None:
            raise MigrationConflictError("the store is empty: add documents first")
        return spaces[routing.query_space]

    def _search(self, space: Space, vector: npt.ArrayLike, k: int, via: str) -> SearchResult:
        if via == "store":
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise ValueError(f"k must be a non-negative int, got {k!r}")
            query = np.ascontiguousarray(vector, dtype=np.float32).reshape(-1)
            if query.shape[0] != space.spec.dimensions:
                raise ValueError(f"dimension mismatch: the query has {query.shape[0]} "
                                 f"dimensions, {space.name} has {space.spec.dimensions}")
            with self.store.transaction() as tx:
                found = tx.search(space.space_id, query, k)
            return SearchResult(space.name, [Hit(doc_id, score) for doc_id, score in found])
        if via != "memory":
            raise ValueError(f"via must be 'memory' or 'store', got {via!r}")
        index = self._index(space)
        with self.store.transaction() as tx:
            index.refresh(tx)
        ids, scores = index.search(vector, k)
        return SearchResult(space.name, [Hit(doc_id, float(score))
                                         for doc_id, score in zip(ids[0], scores.tolist())])

    def export(self, model: str | None = None) -> Iterator[tuple[str, FloatMatrix]]:
        """`(id, vector)` of every vector in one space (the routed query space by default)."""
        space = self.space(model) if model is not None else self._query_space()
        with self.store.transaction() as tx:
            for rows in tx.vectors(space.space_id):
                yield from zip(rows.ids, rows.matrix)

    # -- the migration -----------------------------------------------------------------------

    def migration(self) -> MigrationRecord | None:
        """The latest migration (None if there never was one)."""
        with self.store.transaction() as tx:
            return tx.migration()

    def _event(self, record: MigrationRecord, kind: str, reason: str, **data: Any) -> Event:
        return Event(record.id, iso_time(self.clock()), kind, reason, record.state, data)

    def plan(
        self,
        to: str,
        *,
        batch_size: int = 100,
        threshold: float = 1.0,
        rollback_window_secs: int = 86400,
        dual_write: bool = True,
        gate: GateConfig | None = None,
        labels: Sequence[LabelledQuery] = (),
        manual_cutover: bool = False,
        migration_id: str | None = None,
    ) -> MigrationRecord:
        """Plan a migration of every stored document to the model `to` (registry name or
        folder). The scope is fixed now: the documents stored at this moment, in batches of
        `batch_size`; what is written later is caught up before the end. Reads switch to the
        target at `threshold` coverage once the gate passes; cutover happens when the backfill
        completes (unless `manual_cutover`), and the source is kept current for
        `rollback_window_secs` after it.
        """
        config = BackfillConfig(batch_size=batch_size, dual_write=dual_write,
                                target_query_threshold=threshold,
                                rollback_window_secs=rollback_window_secs)
        target = self._model(to)
        now = self.clock()
        mid = migration_id or "mig-" + time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + \
            "-" + uuid.uuid4().hex[:4]
        with self.store.transaction(write=True) as tx:
            previous = tx.migration()
            if previous is not None and previous.finalized_at is None:
                raise MigrationConflictError(
                    f"migration {previous.id} is still open ({_state_name(previous)}); "
                    "finalize it (after a cutover, rollback or cancel) before planning another")
            active = tx.get_setting(ACTIVE_SPACE)
            if active is None:
                raise MigrationConflictError("the store has no documents yet: add some first")
            spaces = self._spaces(tx)
            spec = target.spec
            if spec.name == active:
                raise MigrationConflictError(f"the store already uses {spec.describe()}")
            if spec.name in spaces:
                check_identity(spec, spaces[spec.name].spec)
            else:
                tx.create_space(spec, iso_time(now))
            total = tx.create_batches(mid, batch_size, 2**62)
            port_plan = MigrationPlan(mid, _nominal(spaces[active].spec), _nominal(spec), total,
                                      batch_size, iso_time(now))
            record = MigrationRecord(
                id=mid, source=active, target=spec.name, plan=port_plan.to_dict(),
                config=config.to_dict(), state=Planned().to_dict(), created_at=iso_time(now),
                plan_stamp=tx.stamp, gate=gate or GateConfig(), labels=list(labels),
                manual_cutover=manual_cutover)
            tx.save_migration(record)
            batches = -(-total // batch_size)
            tx.append_event(self._event(
                record, "planned", f"{active} -> {spec.name}: {total} documents in {batches} "
                f"batches of {batch_size}", source=spaces[active].spec.describe(),
                target=spec.describe()))
        return record

    def _open_migration(self, tx: Tx, action: str) -> MigrationRecord:
        record = tx.migration()
        if record is None or record.finalized_at is not None:
            raise MigrationConflictError(f"cannot {action}: no migration is open")
        return record

    def coordinator(self, record: MigrationRecord) -> BackfillCoordinator:
        """The port's coordinator standing at the record's state, on the wall clock."""
        return BackfillCoordinator.restore(
            MigrationPlan.from_dict(record.plan), BackfillConfig.from_dict(record.config),
            port_state(record), started_at=record.started_at, cutover_at=record.cutover_at,
            clock=self.clock)

    def transition(
        self, kind: str, apply: Callable[[BackfillCoordinator], None], reason: str,
        **changes: Any,
    ) -> MigrationRecord:
        """Apply one port transition to the stored migration and log it as `kind`, in one
        transaction. The port refuses an illegal one (`MigrationConflictError` says from which
        state)."""
        action = _ACTIONS.get(kind, kind)
        with self.store.transaction(write=True) as tx:
            record = self._open_migration(tx, action)
            coordinator = self.coordinator(record)
            try:
                apply(coordinator)
            except MigrationError as error:
                raise MigrationConflictError(
                    f"cannot {action} migration {record.id}: it is {_state_name(record)} "
                    f"({error})") from None
            record = msgspec.structs.replace(record, state=coordinator.state.to_dict(),
                                             **changes)
            tx.save_migration(record)
            tx.append_event(self._event(record, kind, reason))
        return record

    def start(self) -> MigrationRecord:
        """Planned -> InProgress (the runner does this itself)."""
        return self.transition("started", lambda c: c.start(), "backfill started",
                               started_at=self.clock())

    def pause(self, reason: str = "paused by the operator") -> MigrationRecord:
        """Stop the backfill after its current batch (a runner exits); reads and writes keep
        their routes."""
        return self.transition("paused", lambda c: c.pause(reason), reason)

    def resume(self) -> MigrationRecord:
        """Paused or Failed -> InProgress; `run` continues the backfill."""
        return self.transition("resumed", lambda c: c.resume(), "resumed by the operator")

    def fail(self, error: str) -> MigrationRecord:
        return self.transition("failed", lambda c: c.fail(error), error)

    def cancel(self, reason: str = "cancelled by the operator") -> MigrationRecord:
        """Abandon the migration: reads and writes return to the source; `finalize` then drops
        the target space."""
        return self.transition("cancelled", lambda c: c.cancel(), reason)

    def views(self, record: MigrationRecord) -> tuple[Space, Space]:
        """The migration's source and target spaces."""
        with self.store.transaction() as tx:
            spaces = self._spaces(tx)
        return spaces[record.source], spaces[record.target]

    def measure_gate(self, record: MigrationRecord | None = None) -> GateReport:
        """Measure the quality gate now, on the documents in both spaces (see `engine.gate`)."""
        if record is None:
            with self.store.transaction() as tx:
                record = self._open_migration(tx, "measure the gate")
        source, target = self.views(record)
        indexes = [self._index(source), self._index(target)]
        with self.store.transaction() as tx:
            for index in indexes:
                index.refresh(tx)
        embed_source = embed_target = None
        if record.labels:
            embed_source = self.encoder(source).embed_queries
            embed_target = self.encoder(target).embed_queries
        return measure_gate(
            indexes[0].snapshot(), indexes[1].snapshot(), record.gate, labels=record.labels,
            embed_source=embed_source, embed_target=embed_target,
            coverage=port_state(record).effective_coverage, measured_at=iso_time(self.clock()),
            seed_text=record.id)

    def switch_reads(self, *, force: bool = False) -> GateReport:
        """Switch reads to the target if the gate passes (or `force`); returns the gate's
        figures, which are stored and logged either way."""
        with self.store.transaction() as tx:
            record = self._open_migration(tx, "switch reads")
        report = self.measure_gate(record)
        with self.store.transaction(write=True) as tx:
            current = self._open_migration(tx, "switch reads")
            switch = (report.passed or force) and not reads_on_target(current)
            current = msgspec.structs.replace(current, gate_report=report,
                                              reads_on_target=current.reads_on_target or switch)
            tx.save_migration(current)
            tx.append_event(self._event(current, "gate", _gate_summary(report),
                                        gate=msgspec.to_builtins(report)))
            if switch:
                why = "forced past the gate" if not report.passed else "the gate passed"
                tx.append_event(self._event(
                    current, "reads_switched", f"reads -> {current.target} at coverage "
                    f"{report.coverage:.3f} ({why})"))
        return report

    def cutover(self, *, force: bool = False) -> GateReport:
        """Cut over a completed backfill: reads move to the target and the rollback window
        opens. Measures the gate first; refused below its floors unless `force`."""
        with self.store.transaction() as tx:
            record = self._ready_for_cutover(self._open_migration(tx, "cut over"))
        report = self.measure_gate(record)
        with self.store.transaction(write=True) as tx:
            record = self._ready_for_cutover(self._open_migration(tx, "cut over"))
            allowed = report.passed or force
            changes: dict[str, Any] = {"gate_report": report}
            if allowed:
                changes.update(cutover_at=self.clock(), reads_on_target=True)
            record = msgspec.structs.replace(record, **changes)
            tx.save_migration(record)
            tx.append_event(self._event(record, "gate", _gate_summary(report),
                                        gate=msgspec.to_builtins(report)))
            if allowed:
                window = BackfillConfig.from_dict(record.config).rollback_window_secs
                why = "forced past the gate" if not report.passed else "the gate passed"
                tx.append_event(self._event(
                    record, "cutover", f"reads -> {record.target}; rollback window {window} s "
                    f"({why})"))
        if not allowed:
            raise MigrationConflictError(
                f"cutover of migration {record.id} refused by the quality gate: "
                f"{'; '.join(report.failures)} (force it with --force)")
        return report

    def _ready_for_cutover(self, record: MigrationRecord) -> MigrationRecord:
        state = port_state(record)
        if record.cutover_at is not None:
            raise MigrationConflictError(
                f"migration {record.id} was cut over at {iso_time(record.cutover_at)}")
        if record.rolled_back_at is not None or not isinstance(state, Completed):
            done = state.processed + state.skipped
            raise MigrationConflictError(
                f"cannot cut over migration {record.id}: it is {_state_name(record)} with "
                f"{done}/{state.total or done} documents done; the backfill must complete "
                "first (lattice-embed migrate run)")
        return record

    def rollback(self) -> MigrationRecord:
        """Route reads back to the source, within the rollback window after cutover."""
        with self.store.transaction(write=True) as tx:
            record = self._open_migration(tx, "roll back")
            end = window_end(record)
            if end is None or record.rolled_back_at is not None:
                what = "was rolled back already" if record.rolled_back_at else "was not cut over"
                raise RollbackRefusedError(
                    f"cannot roll back migration {record.id}: it {what}; reads are on "
                    f"{record.source if record.rolled_back_at else _reads(record)}")
            now = self.clock()
            if now >= end:
                window = BackfillConfig.from_dict(record.config).rollback_window_secs
                raise RollbackRefusedError(
                    f"cannot roll back migration {record.id}: its rollback window of {window} s "
                    f"after cutover at {iso_time(end - window)} closed {_fmt_seconds(now - end)} "
                    f"ago ({_fmt_seconds(now - end + window)} have passed); the source is no "
                    "longer current")
            record = msgspec.structs.replace(record, rolled_back_at=now)
            tx.save_migration(record)
            tx.append_event(self._event(record, "rolled_back", f"reads -> {record.source}, "
                                        f"{_fmt_seconds(end - now)} before the window closed"))
        return record

    def finalize(self) -> MigrationRecord:
        """Close the migration and drop the space that no longer serves: the source after a
        cutover, the target after a rollback or cancel. Only ever on explicit request."""
        with self.store.transaction(write=True) as tx:
            record = self._open_migration(tx, "finalize")
            state = port_state(record)
            if record.rolled_back_at is not None or isinstance(state, Cancelled):
                keep, drop = record.source, record.target
            elif record.cutover_at is not None:
                keep, drop = record.target, record.source
            else:
                raise MigrationConflictError(
                    f"cannot finalize migration {record.id}: it is {_state_name(record)}; "
                    "finalize follows a cutover, a rollback or a cancel")
            spaces = self._spaces(tx)
            tx.drop_space(spaces[drop].space_id)
            tx.set_setting(ACTIVE_SPACE, keep)
            now = self.clock()
            record = msgspec.structs.replace(record, finalized_at=now)
            tx.save_migration(record)
            early = window_end(record)
            note = "; the rollback window closed early" if (
                keep == record.target and early is not None and now < early) else ""
            tx.append_event(self._event(record, "finalized",
                                        f"dropped {drop}; {keep} is the store's space{note}"))
        with self._lock:
            self._indexes = {key: index for key, index in self._indexes.items()
                             if key[1] != drop}
            dropped = self._encoders.pop(drop, None)
        if dropped is not None:
            dropped.close()
        return record

    def run(self, **options: Any) -> RunReport:
        """Run the backfill here until it completes, pauses, fails or is cancelled; see
        `runner.BackfillRunner` for `options` (rate, progress, max_batches, ...). On a Ray
        cluster: `ray_backfill.run_on_ray`."""
        from .runner import BackfillRunner

        return BackfillRunner(self, **options).run()

    def events(self, migration_id: str | None = None) -> list[Event]:
        with self.store.transaction() as tx:
            return tx.events(migration_id)

    def status(self) -> Status:
        """The store, its routing and the latest migration, now."""
        with self.store.transaction() as tx:
            routing, record = self._routing(tx), tx.migration()
            spaces = [SpaceStatus(space.name, space.spec.dimensions, space.spec.fingerprint,
                                  tx.count_vectors(space.space_id)) for space in tx.spaces()]
            documents = tx.count_documents()
        base = Status(
            documents=documents,
            query_model=routing.query_space if routing else None,
            write_models=list(routing.write_spaces) if routing else [],
            phase=(routing.phase.value if routing else "stable"),
            spaces=spaces)
        if record is None:
            return base
        state = port_state(record)
        processed, skipped, total = counts(record)
        config = BackfillConfig.from_dict(record.config)
        progress = self.coordinator(record).progress()
        end = window_end(record)
        now = self.clock()
        open_window = (end is not None and record.rolled_back_at is None
                       and record.finalized_at is None)
        return msgspec.structs.replace(
            base,
            migration_id=record.id,
            state=state.RUST_NAME,
            reason=getattr(state, "reason", None) or getattr(state, "error", None),
            processed=processed,
            skipped=skipped,
            total=total,
            source_model=record.source,
            target_model=record.target,
            coverage=state.effective_coverage,
            threshold=config.target_query_threshold,
            dual_write=config.dual_write,
            batch_size=config.batch_size,
            reads_on_target=reads_on_target(record),
            awaiting_cutover=(isinstance(state, Completed) and record.cutover_at is None
                              and record.rolled_back_at is None),
            error_count=record.error_count,
            throughput=progress.throughput if progress.throughput else None,
            eta_secs=progress.eta_secs,
            gate=record.gate_report,
            cutover_at=iso_time(record.cutover_at) if record.cutover_at else None,
            rollback_window_secs=config.rollback_window_secs,
            rollback_window_left_secs=max(end - now, 0.0) if open_window and end else None,
            rolled_back_at=iso_time(record.rolled_back_at) if record.rolled_back_at else None,
            finalized_at=iso_time(record.finalized_at) if record.finalized_at else None,
        )


_ACTIONS = {"started": "start", "paused": "pause", "resumed": "resume", "failed": "fail",
            "cancelled": "cancel", "completed": "complete"}


def _state_name(record: MigrationRecord) -> str:
    state: MigrationState = port_state(record)
    done = f" {state.processed + state.skipped}/{state.total}" if state.total else ""
    return f"{state.RUST_NAME}{done}"


def _reads(record: MigrationRecord) -> str:
    return record.target if reads_on_target(record) else record.source


def _gate_summary(report: GateReport) -> str:
    figures = []
    if report.overlap is not None:
        figures.append(f"overlap@{report.k} {report.overlap:.3f}")
    if report.target is not None:
        figures.append(f"recall@{report.k} {report.target.recall:.3f}, "
                       f"nDCG@{report.k} {report.target.ndcg:.3f}")
    verdict = "passed" if report.passed else "failed: " + "; ".join(report.failures)
    return f"gate at coverage {report.coverage:.3f}: {', '.join(figures) or 'no figures'}; " \
        f"{verdict}"
