"""What the engine stores and reports, declared once (msgspec structs: one encoder, one decoder).

The port's own values (`MigrationPlan`, `BackfillConfig`, `MigrationState`, `SkipReason`) are
kept inside these records as the port's JSON, so a stored migration reads back into the port's
classes exactly.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, TypeVar

import msgspec

__all__ = [
    "Batch",
    "Document",
    "Event",
    "GateConfig",
    "GateReport",
    "LabelledQuery",
    "MigrationRecord",
    "RetrievalScores",
    "Skip",
    "Space",
    "SpaceSpec",
    "decode",
    "encode",
    "iso_time",
]

Json = Any


class Document(msgspec.Struct, frozen=True):
    """A stored document. `seq` is the store's stable key (never reused: a deleted id that comes
    back is a new document); `version` grows by one on every write of the id."""

    seq: int
    id: str
    text: str
    version: int


class SpaceSpec(msgspec.Struct, frozen=True):
    """A vector space's identity: the model's name, its width and a fingerprint of its weights
    and pipeline. `source` is how to load the model again (a registry name or a folder path);
    `details` says, for people, what the fingerprint covers."""

    name: str
    dimensions: int
    fingerprint: str
    source: str
    details: dict[str, Json] = {}

    def describe(self) -> str:
        """`name (384-d, fingerprint 3fa2c1d09b7e)`."""
        return f"{self.name} ({self.dimensions}-d, fingerprint {self.fingerprint[:12]})"


class Space(msgspec.Struct, frozen=True):
    """A space in a store: its id there, identity and creation time."""

    space_id: int
    spec: SpaceSpec
    created_at: str

    @property
    def name(self) -> str:
        return self.spec.name


class Batch(msgspec.Struct, frozen=True):
    """One unit of backfill work: the documents with `lo_seq < seq <= hi_seq`, of which `size`
    were live when the migration was planned."""

    migration_id: str
    batch_no: int
    lo_seq: int
    hi_seq: int
    size: int


class GateConfig(msgspec.Struct, frozen=True):
    """The quality gate: `sample` stored documents used as queries, results compared at `k`;
    a floor of None is measured but never refuses."""

    k: int = 10
    sample: int = 200
    min_overlap: float | None = None
    min_recall: float | None = None
    min_ndcg: float | None = None


class LabelledQuery(msgspec.Struct, frozen=True):
    """A query and its relevant documents: id to gain (1.0 each for a plain list)."""

    query: str
    relevant: dict[str, float]


class RetrievalScores(msgspec.Struct, frozen=True):
    """Mean recall@k and nDCG@k of one space over the labelled queries."""

    recall: float
    ndcg: float
    queries: int


class GateReport(msgspec.Struct, frozen=True):
    """One measurement of the gate: figures, and whether they clear the floors."""

    measured_at: str
    coverage: float
    k: int
    sample: int
    overlap: float | None
    source: RetrievalScores | None
    target: RetrievalScores | None
    passed: bool
    failures: list[str] = []


class MigrationRecord(msgspec.Struct, frozen=True):
    """A migration as the engine keeps it.

    `plan`, `config` and `state` are the port's JSON (`MigrationPlan`, `BackfillConfig`,
    `MigrationState`). The scope is fixed when the migration is planned: the documents live then,
    split into the store's batches; whatever is written after `plan_stamp` is caught up before
    the end.
    Times are wall-clock seconds since the epoch, so they mean the same after a restart.
    """

    id: str
    source: str
    target: str
    plan: dict[str, Json]
    config: dict[str, Json]
    state: Json
    created_at: str
    plan_stamp: int
    gate: GateConfig = GateConfig()
    labels: list[LabelledQuery] = []
    manual_cutover: bool = False
    error_count: int = 0
    started_at: float | None = None
    reads_on_target: bool = False
    gate_report: GateReport | None = None
    cutover_at: float | None = None
    rolled_back_at: float | None = None
    finalized_at: float | None = None


class Event(msgspec.Struct, frozen=True):
    """One line of the append-only event log: what happened, when (UTC), why, and the port's
    state right after."""

    migration_id: str
    at: str
    kind: str
    reason: str
    state: Json
    data: dict[str, Json] = {}
    event_id: int = 0


class Skip(msgspec.Struct, frozen=True):
    """A document left out of a migration, with the port's `SkipReason` JSON. `counted` skips
    are part of the port's `skipped`; catch-up failures (documents written after the plan)
    are recorded but not counted. `seq`, `version` and `doc_id` are None for a document deleted
    before the backfill reached it."""

    migration_id: str
    reason: Json
    at: str
    counted: bool
    seq: int | None = None
    version: int | None = None
    doc_id: str | None = None


_T = TypeVar("_T")
_ENCODER = msgspec.json.Encoder()


def encode(value: object) -> str:
    """A record as JSON text."""
    return _ENCODER.encode(value).decode()


def decode(text: str | bytes, kind: type[_T]) -> _T:
    """JSON text back into a record, checked against its declaration."""
    return msgspec.json.decode(text, type=kind)


def iso_time(seconds: float) -> str:
    """`2026-12-05T00:32:15.123Z`: wall-clock seconds as UTC ISO 8601, milliseconds kept."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
