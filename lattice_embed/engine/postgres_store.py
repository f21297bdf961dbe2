"""`PostgresStore`: the store on PostgreSQL with pgvector (psycopg 3, a connection pool).

Everything lives in the schema `lattice_embed`, created on first use with its version number,
so the store can sit in an application's own database: documents, spaces, one table of
pgvector `vector(d)` per space (`vectors_<space id>`), migrations, events, skips and the
backfill's batches. Write transactions take one transaction-level advisory lock first, which
serializes writers across every process and machine as SQLite's `BEGIN IMMEDIATE` does (the
engine's read-decide-write steps rely on it, and so does the stamp's commit order); read
transactions are REPEATABLE READ, READ ONLY: one snapshot for all their statements.

Search can run in the database too (`search`): pgvector's exact cosine distance, or an HNSW
index when one was made (`create_index`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import numpy as np

from .errors import StoreError
from .records import Batch, Document, Event, MigrationRecord, Skip, Space, SpaceSpec, decode, encode
from .sql_tx import SqlTx
from .store import SCHEMA_VERSION, FloatMatrix, VectorChanges, VectorRows

__all__ = ["PostgresStore"]

SCHEMA: Final = "lattice_embed"
_WRITER_LOCK: Final = 0x6C61_7474  # "latt": the advisory lock every write transaction holds
_TABLES: Final = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.documents (
    seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE, text text NOT NULL,
    version bigint NOT NULL, stamp bigint NOT NULL);
CREATE INDEX IF NOT EXISTS documents_by_stamp ON {SCHEMA}.documents (stamp);
CREATE TABLE IF NOT EXISTS {SCHEMA}.spaces (
    space_id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, record text NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.migrations (
    id text PRIMARY KEY, opened bigint NOT NULL, record text NOT NULL);
CREATE TABLE IF NOT EXISTS {SCHEMA}.events (
    event_id bigserial PRIMARY KEY, migration_id text NOT NULL, record text NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_migration ON {SCHEMA}.events (migration_id, event_id);
CREATE TABLE IF NOT EXISTS {SCHEMA}.skips (
    skip_id bigserial PRIMARY KEY, migration_id text NOT NULL, seq bigint, version bigint,
    record text NOT NULL);
CREATE INDEX IF NOT EXISTS skips_by_doc ON {SCHEMA}.skips (migration_id, seq, version);
CREATE TABLE IF NOT EXISTS {SCHEMA}.batches (
    migration_id text NOT NULL, batch_no bigint NOT NULL, lo_seq bigint NOT NULL,
    hi_seq bigint NOT NULL, size bigint NOT NULL, done boolean NOT NULL DEFAULT false,
    owner text, expires double precision, PRIMARY KEY (migration_id, batch_no));
CREATE INDEX IF NOT EXISTS batches_pending ON {SCHEMA}.batches (migration_id, done, batch_no);
"""


def _redact(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def _vectors(space_id: int) -> str:
    return f"{SCHEMA}.vectors_{int(space_id)}"


def _rows(rows: list[tuple[int, str, int, Any]], dims: int) -> VectorRows:
    seqs = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    versions = np.fromiter((row[2] for row in rows), np.int64, len(rows))
    matrix = (np.stack([row[3].to_numpy() for row in rows]).astype(np.float32, copy=False) if rows
              else np.empty((0, dims), np.float32))
    return VectorRows(seqs, [row[1] for row in rows], versions, matrix)


class _Tx(SqlTx):
    """A transaction on one pooled connection (see `lattice_embed.engine.store.Tx`)."""

    NEXT_STAMP = (f"UPDATE {SCHEMA}.meta SET value = (value::bigint + 1)::text "
                  "WHERE key = 'stamp' RETURNING value")
    READ_STAMP = f"SELECT value FROM {SCHEMA}.meta WHERE key = 'stamp'"
    SPACE_RECORD = f"SELECT record FROM {SCHEMA}.spaces WHERE space_id = %s"

    # -- documents ---------------------------------------------------------------------------

    def upsert_documents(self, items: Sequence[tuple[str, str]]) -> list[Document]:
        stamp = self.stamp
        sql = (f"INSERT INTO {SCHEMA}.documents (id, text, version, stamp) VALUES (%s, %s, 1, %s) "
               "ON CONFLICT (id) DO UPDATE SET text = excluded.text, "
               "version = documents.version + 1, stamp = excluded.stamp "
               "RETURNING seq, id, text, version")
        return [Document(*self._one(sql, (doc_id, text, stamp))) for doc_id, text in items]

    def delete_documents(self, ids: Sequence[str]) -> list[Document]:
        gone = [Document(*row) for row in self._all(
            f"DELETE FROM {SCHEMA}.documents WHERE id = ANY(%s) RETURNING seq, id, text, version",
            (list(ids),))]
        if gone:
            stamp, seqs = self.stamp, [doc.seq for doc in gone]
            for space in self.spaces():
                self._conn.execute(
                    f"UPDATE {_vectors(space.space_id)} SET embedding = NULL, stamp = %s "
                    "WHERE seq = ANY(%s) AND embedding IS NOT NULL", (stamp, seqs))
        by_id = {doc.id: doc for doc in gone}
        return [by_id[doc_id] for doc_id in dict.fromkeys(ids) if doc_id in by_id]

    def documents_by_id(self, ids: Sequence[str]) -> list[Document]:
        rows = self._all(f"SELECT seq, id, text, version FROM {SCHEMA}.documents "
                         "WHERE id = ANY(%s)", (list(ids),))
        return [Document(*row) for row in rows]

    def documents_by_seq(self, seqs: Sequence[int]) -> list[Document]:
        rows = self._all(f"SELECT seq, id, text, version FROM {SCHEMA}.documents "
                         "WHERE seq = ANY(%s) ORDER BY seq", (list(seqs),))
        return [Document(*row) for row in rows]

    def documents_in_range(self, lo_seq: int, hi_seq: int) -> list[Document]:
        rows = self._all(f"SELECT seq, id, text, version FROM {SCHEMA}.documents "
                         "WHERE seq > %s AND seq <= %s ORDER BY seq", (lo_seq, hi_seq))
        return [Document(*row) for row in rows]

    def count_documents(self) -> int:
        return int(self._one(f"SELECT COUNT(*) FROM {SCHEMA}.documents")[0])

    def stale_documents(
        self, space_id: int, since_stamp: int, migration_id: str, limit: int
    ) -> list[Document]:
        rows = self._all(
            f"SELECT d.seq, d.id, d.text, d.version FROM {SCHEMA}.documents d "
            f"LEFT JOIN {_vectors(space_id)} v ON v.seq = d.seq "
            "WHERE d.stamp > %s AND (v.embedding IS NULL OR v.version < d.version) "
            f"AND NOT EXISTS (SELECT 1 FROM {SCHEMA}.skips s WHERE s.migration_id = %s "
            "AND s.seq = d.seq AND s.version = d.version) ORDER BY d.seq LIMIT %s",
            (since_stamp, migration_id, limit))
        return [Document(*row) for row in rows]

    # -- spaces and vectors ------------------------------------------------------------------

    def spaces(self) -> list[Space]:
        return [decode(row[0], Space) for row in
                self._all(f"SELECT record FROM {SCHEMA}.spaces ORDER BY space_id")]

    def create_space(self, spec: SpaceSpec, created_at: str) -> Space:
        space_id = int(self._one(f"INSERT INTO {SCHEMA}.spaces (name, record) VALUES (%s, '') "
                                 "RETURNING space_id", (spec.name,))[0])
        space = Space(space_id, spec, created_at)
        self._conn.execute(f"UPDATE {SCHEMA}.spaces SET record = %s WHERE space_id = %s",
                           (encode(space), space_id))
        table = _vectors(space_id)
        self._conn.execute(
            f"CREATE TABLE {table} (seq bigint PRIMARY KEY, version bigint NOT NULL, "
            f"stamp bigint NOT NULL, embedding vector({int(spec.dimensions)}))")
        self._conn.execute(f"CREATE INDEX ON {table} (stamp)")
        return space

    def drop_space(self, space_id: int) -> None:
        self._conn.execute(f"DROP TABLE IF EXISTS {_vectors(space_id)}")
        self._conn.execute(f"DELETE FROM {SCHEMA}.spaces WHERE space_id = %s", (space_id,))

    def put_vectors(
        self, space_id: int, keys: Sequence[tuple[int, int]], matrix: FloatMatrix
    ) -> int:
        if not keys:
            return 0
        table, stamp = _vectors(space_id), self.stamp
        rows = self._all(
            f"INSERT INTO {table} AS v (seq, version, stamp, embedding) "
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::vector[]) "
            "ON CONFLICT (seq) DO UPDATE SET version = excluded.version, stamp = excluded.stamp, "
            "embedding = excluded.embedding "
            "WHERE v.embedding IS NULL OR v.version < excluded.version RETURNING seq",
            ([seq for seq, _ in keys], [version for _, version in keys], [stamp] * len(keys),
             [np.ascontiguousarray(row, dtype=np.float32) for row in matrix]))
        return len(rows)

    def remove_vectors(self, space_id: int, seqs: Sequence[int]) -> None:
        if seqs:
            self._conn.execute(
                f"UPDATE {_vectors(space_id)} SET embedding = NULL, stamp = %s "
                "WHERE seq = ANY(%s) AND embedding IS NOT NULL", (self.stamp, list(seqs)))

    def vector_versions(self, space_id: int, seqs: Sequence[int]) -> dict[int, int]:
        rows = self._all(f"SELECT seq, version FROM {_vectors(space_id)} WHERE seq = ANY(%s) "
                         "AND embedding IS NOT NULL", (list(seqs),))
        return {row[0]: row[1] for row in rows}

    def vectors(self, space_id: int, *, chunk: int = 4096) -> Iterator[VectorRows]:
        dims, after = self._dimensions(space_id), 0
        while True:
            rows = self._all(
                f"SELECT v.seq, d.id, v.version, v.embedding FROM {_vectors(space_id)} v "
                f"JOIN {SCHEMA}.documents d ON d.seq = v.seq WHERE v.seq > %s "
                "AND v.embedding IS NOT NULL ORDER BY v.seq LIMIT %s", (after, chunk))
            if not rows:
                return
            yield _rows(rows, dims)
            after = rows[-1][0]

    def vector_changes(self, space_id: int, since_stamp: int) -> VectorChanges:
        rows = self._all(
            f"SELECT v.seq, d.id, v.version, v.embedding FROM {_vectors(space_id)} v "
            f"LEFT JOIN {SCHEMA}.documents d ON d.seq = v.seq WHERE v.stamp > %s "
            "ORDER BY v.seq", (since_stamp,))
        written = [row for row in rows if row[3] is not None]
        removed = np.array([row[0] for row in rows if row[3] is None], dtype=np.int64)
        return VectorChanges(self.stamp, _rows(written, self._dimensions(space_id)), removed)

    def count_vectors(self, space_id: int) -> int:
        return int(self._one(f"SELECT COUNT(*) FROM {_vectors(space_id)} "
                             "WHERE embedding IS NOT NULL")[0])

    def search(self, space_id: int, query: FloatMatrix, k: int) -> list[tuple[str, float]]:
        """The `k` nearest documents by cosine similarity, computed by pgvector."""
        rows = self._all(
            f"SELECT d.id, 1 - (v.embedding <=> %s) FROM {_vectors(space_id)} v "
            f"JOIN {SCHEMA}.documents d ON d.seq = v.seq WHERE v.embedding IS NOT NULL "
            "ORDER BY v.embedding <=> %s LIMIT %s",
            (np.ascontiguousarray(query, np.float32),) * 2 + (k,))
        return [(row[0], float(row[1])) for row in rows]

    def create_index(self, space_id: int, kind: str) -> None:
        """An approximate index for `search` (kind "hnsw", cosine); exact search without one."""
        if kind != "hnsw":
            raise ValueError(f"unknown index kind {kind!r}; the only one is 'hnsw'")
        table = _vectors(space_id)
        self._conn.execute(f"CREATE INDEX IF NOT EXISTS vectors_{int(space_id)}_hnsw ON {table} "
                           "USING hnsw (embedding vector_cosine_ops)")

    # -- settings ----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._one(f"SELECT value FROM {SCHEMA}.meta WHERE key = %s", ("setting:" + key,))
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        self._conn.execute(f"INSERT INTO {SCHEMA}.meta (key, value) VALUES (%s, %s) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                           ("setting:" + key, value))

    # -- migrations, events, skips -----------------------------------------------------------

    def migration(self) -> MigrationRecord | None:
        row = self._one(f"SELECT record FROM {SCHEMA}.migrations ORDER BY opened DESC LIMIT 1")
        return None if row is None else decode(row[0], MigrationRecord)

    def save_migration(self, record: MigrationRecord) -> None:
        self._conn.execute(
            f"INSERT INTO {SCHEMA}.migrations (id, opened, record) VALUES "
            f"(%s, (SELECT COALESCE(MAX(opened), 0) + 1 FROM {SCHEMA}.migrations), %s) "
            "ON CONFLICT (id) DO UPDATE SET record = excluded.record", (record.id, encode(record)))

    def append_event(self, event: Event) -> int:
        row = self._one(f"INSERT INTO {SCHEMA}.events (migration_id, record) VALUES (%s, %s) "
                        "RETURNING event_id", (event.migration_id, encode(event)))
        return int(row[0])

    def events(self, migration_id: str | None = None) -> list[Event]:
        import msgspec

        if migration_id is None:
            rows = self._all(f"SELECT event_id, record FROM {SCHEMA}.events ORDER BY event_id")
        else:
            rows = self._all(f"SELECT event_id, record FROM {SCHEMA}.events "
                             "WHERE migration_id = %s ORDER BY event_id", (migration_id,))
        return [msgspec.structs.replace(decode(record, Event), event_id=event_id)
                for event_id, record in rows]

    def add_skips(self, skips: Sequence[Skip]) -> None:
        if skips:
            with self._conn.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {SCHEMA}.skips (migration_id, seq, version, record) "
                    "VALUES (%s, %s, %s, %s)",
                    [(skip.migration_id, skip.seq, skip.version, encode(skip)) for skip in skips])

    def skips(self, migration_id: str) -> list[Skip]:
        rows = self._all(f"SELECT record FROM {SCHEMA}.skips WHERE migration_id = %s "
                         "ORDER BY skip_id", (migration_id,))
        return [decode(row[0], Skip) for row in rows]

    # -- the backfill's work queue -----------------------------------------------------------

    def create_batches(self, migration_id: str, batch_size: int, high_water_seq: int) -> int:
        self._conn.execute(
            f"INSERT INTO {SCHEMA}.batches (migration_id, batch_no, lo_seq, hi_seq, size) "
            "WITH numbered AS (SELECT seq, (ROW_NUMBER() OVER (ORDER BY seq) - 1) / %s AS grp "
            f"FROM {SCHEMA}.documents WHERE seq <= %s), "
            "grouped AS (SELECT grp, MAX(seq) AS hi, COUNT(*) AS size FROM numbered GROUP BY grp) "
            "SELECT %s, grp, COALESCE(LAG(hi) OVER (ORDER BY grp), 0), hi, size FROM grouped",
            (batch_size, high_water_seq, migration_id))
        row = self._one(f"SELECT COALESCE(SUM(size), 0) FROM {SCHEMA}.batches "
                        "WHERE migration_id = %s", (migration_id,))
        return int(row[0])

    def lease_batch(
        self, migration_id: str, owner: str, now: float, until: float, reclaim: Sequence[str]
    ) -> Batch | None:
        row = self._one(
            f"UPDATE {SCHEMA}.batches SET owner = %s, expires = %s WHERE (migration_id, batch_no) "
            f"= (SELECT migration_id, batch_no FROM {SCHEMA}.batches WHERE migration_id = %s "
            "AND NOT done AND (owner IS NULL OR expires < %s OR owner = ANY(%s)) "
            "ORDER BY batch_no LIMIT 1 FOR UPDATE SKIP LOCKED) "
            "RETURNING batch_no, lo_seq, hi_seq, size",
            (owner, until, migration_id, now, list(reclaim)))
        return None if row is None else Batch(migration_id, *row)

    def lease_owners(self, migration_id: str) -> list[str]:
        rows = self._all(f"SELECT DISTINCT owner FROM {SCHEMA}.batches WHERE migration_id = %s "
                         "AND NOT done AND owner IS NOT NULL", (migration_id,))
        return [row[0] for row in rows]

    def release_batch(self, migration_id: str, batch_no: int, owner: str) -> None:
        self._conn.execute(f"UPDATE {SCHEMA}.batches SET owner = NULL, expires = NULL "
                           "WHERE migration_id = %s AND batch_no = %s AND owner = %s",
                           (migration_id, batch_no, owner))

    def complete_batch(self, migration_id: str, batch_no: int) -> bool:
        cursor = self._conn.execute(
            f"UPDATE {SCHEMA}.batches SET done = true, owner = NULL, expires = NULL "
            "WHERE migration_id = %s AND batch_no = %s AND NOT done", (migration_id, batch_no))
        return bool(cursor.rowcount == 1)


class PostgresStore:
    """The store in a PostgreSQL database with the pgvector extension (see the module
    docstring). `url` is a libpq URL (`postgresql://user:password@host:port/db`, or with
    `?host=/socket/dir`). The schema is created on first use; pgvector is installed in the
    database if it is not there and this role may (a `StoreError` says what to do if not)."""

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout: float = 10.0) -> None:
        self.url = _redact(url)
        self._dims: dict[int, int] = {}
        self._lock = threading.Lock()
        try:
            import psycopg
            from pgvector.psycopg import register_vector
            from psycopg_pool import ConnectionPool
        except ImportError as error:
            raise StoreError(f"{self.url}: PostgreSQL stores need pip install "
                             f"'lattice-embed[postgres]' ({error})") from error
        self._psycopg = psycopg
        try:
            with psycopg.connect(url, connect_timeout=int(connect_timeout),
                                 autocommit=True) as conn:
                self._prepare(conn)
        except psycopg.Error as error:
            message = " ".join(str(error).split()) or type(error).__name__
            raise StoreError(f"cannot open store {self.url}: {message}") from error
        self._pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, configure=register_vector,
            kwargs={"autocommit": False}, timeout=connect_timeout, name="lattice_embed")
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except Exception as error:  # psycopg_pool.PoolTimeout and friends
            raise StoreError(f"cannot open store {self.url}: {error}") from error

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"

    def _prepare(self, conn: Any) -> None:
        """Install pgvector if needed and create the schema, once, under the writers' lock."""
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK,))
            installed = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
            if installed is None:
                available = conn.execute(
                    "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").fetchone()
                if available is None:
                    raise StoreError(
                        f"{self.url}: the server has no pgvector extension (install pgvector on "
                        "the server, e.g. the postgresql-16-pgvector package)")
                try:
                    with conn.transaction():
                        conn.execute("CREATE EXTENSION vector")
                except self._psycopg.Error as error:
                    detail = " ".join(str(error).split())
                    raise StoreError(
                        f"{self.url}: pgvector is not installed in this database and this role "
                        f"cannot install it ({detail}); a superuser can run CREATE EXTENSION "
                        "vector") from error
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
            for statement in filter(str.strip, _TABLES.split(";")):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {SCHEMA}.meta (key, value) VALUES ('schema_version', %s) "
                         "ON CONFLICT DO NOTHING", (str(SCHEMA_VERSION),))
            conn.execute(f"INSERT INTO {SCHEMA}.meta (key, value) VALUES ('stamp', '0') "
                         "ON CONFLICT DO NOTHING")
            found = int(conn.execute(f"SELECT value FROM {SCHEMA}.meta "
                                     "WHERE key = 'schema_version'").fetchone()[0])
        if found != SCHEMA_VERSION:
            raise StoreError(f"{self.url} holds lattice_embed schema version {found}; this "
                             f"lattice_embed reads version {SCHEMA_VERSION}")

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[_Tx]:
        psycopg = self._psycopg
        try:
            with self._pool.connection() as conn, conn.transaction():
                if write:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITER_LOCK,))
                else:
                    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield _Tx(conn, write, self._dims)
        except psycopg.OperationalError as error:
            message = " ".join(str(error).split())
            raise StoreError(f"store {self.url}: {message}") from error

    def close(self) -> None:
        self._pool.close()
