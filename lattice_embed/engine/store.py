"""The store protocol: everything the engine keeps, behind one small interface with no SQL above it.

A store holds documents, one vector space per model, the migrations (the port's JSON inside
`MigrationRecord`), the append-only event log, skips and the backfill's work queue. The engine
only ever talks to it inside `store.transaction()`: a `Tx` sees one consistent snapshot, and a
`write=True` transaction is serialized with every other writer, so reading the migration,
deciding and writing the result happen as one step even with several processes on one store.

Two rules every store keeps:

* **Stamps.** Each write transaction takes the next value of one store-wide counter
  (`Tx.stamp`), in commit order. Documents and vector rows carry the stamp of their last write,
  so "what changed since stamp S" is exact: an in-memory copy of a space catches up with
  `vector_changes`, and the backfill finds documents written after its plan.
* **Only newer vectors.** `put_vectors` writes a row only where the space has no live vector for
  that document, or an older version of it, so a batch that is done twice writes once.

Implementations: `SQLiteStore` (the embedded default) and `PostgresStore` (pgvector). Both pass
the conformance suite in `tests/engine/test_store_conformance.py`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .records import Batch, Document, Event, MigrationRecord, Skip, Space, SpaceSpec

__all__ = ["SCHEMA_VERSION", "Store", "Tx", "VectorChanges", "VectorRows"]

SCHEMA_VERSION = 1
"""The version of the stored layout; a store of another version is refused, not guessed at."""

FloatMatrix = npt.NDArray[np.float32]
SeqArray = npt.NDArray[np.int64]


class VectorRows:
    """Live vectors of one space: `seqs[i]`, `ids[i]` and `versions[i]` describe `matrix[i]`."""

    __slots__ = ("ids", "matrix", "seqs", "versions")

    def __init__(
        self, seqs: SeqArray, ids: list[str], versions: SeqArray, matrix: FloatMatrix
    ) -> None:
        self.seqs, self.ids, self.versions, self.matrix = seqs, ids, versions, matrix

    def __len__(self) -> int:
        return len(self.ids)


class VectorChanges:
    """What changed in a space since a stamp: rows written (`written`) and documents whose
    vector was removed (`removed` seqs), as of `stamp`."""

    __slots__ = ("removed", "stamp", "written")

    def __init__(self, stamp: int, written: VectorRows, removed: SeqArray) -> None:
        self.stamp, self.written, self.removed = stamp, written, removed


class Tx(Protocol):
    """One transaction. Every method sees the same snapshot; a write transaction's changes land
    together at the end of `store.transaction()`, or not at all."""

    # -- the counter -------------------------------------------------------------------------

    @property
    def stamp(self) -> int:
        """This write transaction's stamp (taken on first use); in a read transaction, the
        stamp of the last committed write."""
        ...

    # -- documents ---------------------------------------------------------------------------

    def upsert_documents(self, items: Sequence[tuple[str, str]]) -> list[Document]:
        """Write `(id, text)` pairs (ids unique within the call): a new id gets the next seq and
        version 1, an existing one its next version. Returns the documents as written, in order."""
        ...

    def delete_documents(self, ids: Sequence[str]) -> list[Document]:
        """Remove documents and their vectors from every space; returns those that existed."""
        ...

    def documents_by_id(self, ids: Sequence[str]) -> list[Document]:
        """The live documents among `ids` (any order)."""
        ...

    def documents_by_seq(self, seqs: Sequence[int]) -> list[Document]:
        """The live documents among `seqs`, by seq."""
        ...

    def documents_in_range(self, lo_seq: int, hi_seq: int) -> list[Document]:
        """Live documents with `lo_seq < seq <= hi_seq`, by seq."""
        ...

    def count_documents(self) -> int:
        """How many documents are live."""
        ...

    def stale_documents(
        self, space_id: int, since_stamp: int, migration_id: str, limit: int
    ) -> list[Document]:
        """Up to `limit` live documents written after `since_stamp` that lack a vector of their
        current version in the space, leaving out those `migration_id` recorded as skipped at
        that version. By seq."""
        ...

    # -- spaces and vectors ------------------------------------------------------------------

    def spaces(self) -> list[Space]:
        """Every space, oldest first."""
        ...

    def create_space(self, spec: SpaceSpec, created_at: str) -> Space:
        """Add an empty space (its name must be new)."""
        ...

    def drop_space(self, space_id: int) -> None:
        """Remove a space and all its vectors."""
        ...

    def put_vectors(
        self, space_id: int, keys: Sequence[tuple[int, int]], matrix: FloatMatrix
    ) -> int:
        """Store `matrix[i]` for `keys[i] = (seq, version)` where the space holds no live vector
        of that document at that version or newer; returns how many rows were written."""
        ...

    def remove_vectors(self, space_id: int, seqs: Sequence[int]) -> None:
        """Remove the vectors of `seqs` from the space (they show in `vector_changes`)."""
        ...

    def vector_versions(self, space_id: int, seqs: Sequence[int]) -> dict[int, int]:
        """The version of each live vector among `seqs`."""
        ...

    def vectors(self, space_id: int, *, chunk: int = 4096) -> Iterator[VectorRows]:
        """Every live vector of the space, by seq, `chunk` rows at a time."""
        ...

    def vector_changes(self, space_id: int, since_stamp: int) -> VectorChanges:
        """Vectors written and removed after `since_stamp`, up to this snapshot's stamp."""
        ...

    def count_vectors(self, space_id: int) -> int:
        """How many live vectors the space holds."""
        ...

    def search(self, space_id: int, query: FloatMatrix, k: int) -> list[tuple[str, float]]:
        """The `k` documents nearest `query` by cosine similarity, `(id, score)` best first,
        computed by the store itself; `StoreError` from a store that cannot."""
        ...

    def create_index(self, space_id: int, kind: str) -> None:
        """Build an index `search` may use (kind "hnsw": approximate); `StoreError` from a store
        that has none."""
        ...

    # -- settings ----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        """A store-wide setting (e.g. the active space), or None."""
        ...

    def set_setting(self, key: str, value: str) -> None:
        ...

    # -- migrations, events, skips -----------------------------------------------------------

    def migration(self) -> MigrationRecord | None:
        """The latest migration, or None if there never was one."""
        ...

    def save_migration(self, record: MigrationRecord) -> None:
        """Insert the record, or replace the one with its id."""
        ...

    def append_event(self, event: Event) -> int:
        """Append to the event log; returns the event's id (ids increase)."""
        ...

    def events(self, migration_id: str | None = None) -> list[Event]:
        """The log (of one migration, or all), oldest first."""
        ...

    def add_skips(self, skips: Sequence[Skip]) -> None:
        ...

    def skips(self, migration_id: str) -> list[Skip]:
        """Every skip of a migration, oldest first."""
        ...

    # -- the backfill's work queue -----------------------------------------------------------

    def create_batches(self, migration_id: str, batch_size: int, high_water_seq: int) -> int:
        """Split the live documents with `seq <= high_water_seq` into batches of `batch_size`
        consecutive documents; returns how many documents they hold."""
        ...

    def lease_batch(
        self, migration_id: str, owner: str, now: float, until: float, reclaim: Sequence[str]
    ) -> Batch | None:
        """Lease the first batch not done whose lease is free, expired (before `now`), or held
        by one of the `reclaim` owners; None when there is none."""
        ...

    def lease_owners(self, migration_id: str) -> list[str]:
        """Owners of the current leases of batches not done."""
        ...

    def release_batch(self, migration_id: str, batch_no: int, owner: str) -> None:
        """Give a lease back (if `owner` still holds it)."""
        ...

    def complete_batch(self, migration_id: str, batch_no: int) -> bool:
        """Mark a batch done; False if it already was (it must not be counted again)."""
        ...


class Store(Protocol):
    """A place the engine keeps everything (see the module docstring)."""

    url: str
    """Where it is, for messages (a file path, or a URL without its password)."""

    def transaction(self, *, write: bool = False) -> AbstractContextManager[Tx]:
        """A transaction; `write=True` serializes it with every other writer of the store."""
        ...

    def close(self) -> None:
        ...
