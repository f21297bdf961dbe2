"""`SQLiteStore`: the embedded store, one SQLite file (stdlib `sqlite3`).

WAL journal (readers never wait for the writer), `synchronous=FULL` (a committed batch survives
a power cut, not only a killed process), a busy timeout so several processes share the file,
and `BEGIN IMMEDIATE` for write transactions, which serializes writers the moment they start.
Each thread gets its own connection. Vectors are little-endian float32 blobs.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import numpy as np

from .errors import StoreError
from .records import Batch, Document, Event, MigrationRecord, Skip, Space, SpaceSpec, decode, encode
from .sql_tx import SqlTx
from .store import SCHEMA_VERSION, FloatMatrix, VectorChanges, VectorRows

__all__ = ["SQLiteStore"]

BUSY_TIMEOUT_MS: Final = 60_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    version INTEGER NOT NULL,
    stamp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_stamp ON documents (stamp);
CREATE TABLE IF NOT EXISTS spaces (
    space_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vectors (
    space_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    version INTEGER NOT NULL,
    stamp INTEGER NOT NULL,
    vector BLOB,
    PRIMARY KEY (space_id, seq)
);
CREATE INDEX IF NOT EXISTS vectors_by_stamp ON vectors (space_id, stamp);
CREATE INDEX IF NOT EXISTS vectors_by_seq ON vectors (seq);
CREATE TABLE IF NOT EXISTS migrations (
    id TEXT PRIMARY KEY,
    opened INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_migration ON events (migration_id, event_id);
CREATE TABLE IF NOT EXISTS skips (
    skip_id INTEGER PRIMARY KEY AUTOINCREMENT,
    migration_id TEXT NOT NULL,
    seq INTEGER,
    version INTEGER,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS skips_by_doc ON skips (migration_id, seq, version);
CREATE TABLE IF NOT EXISTS batches (
    migration_id TEXT NOT NULL,
    batch_no INTEGER NOT NULL,
    lo_seq INTEGER NOT NULL,
    hi_seq INTEGER NOT NULL,
    size INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    expires REAL,
    PRIMARY KEY (migration_id, batch_no)
);
CREATE INDEX IF NOT EXISTS batches_pending ON batches (migration_id, done, batch_no);
"""
_TABLES: Final = {"meta", "documents", "spaces", "vectors", "migrations", "events", "skips",
                  "batches", "sqlite_sequence"}


def _blob(vector: np.ndarray[Any, Any]) -> bytes:
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _rows(rows: list[tuple[int, str, int, bytes]], dims: int) -> VectorRows:
    """`(seq, id, version, blob)` rows as a `VectorRows`."""
    seqs = np.fromiter((row[0] for row in rows), np.int64, len(rows))
    versions = np.fromiter((row[2] for row in rows), np.int64, len(rows))
    matrix = np.frombuffer(b"".join(row[3] for row in rows), dtype="<f4").astype(np.float32)
    return VectorRows(seqs, [row[1] for row in rows], versions, matrix.reshape(len(rows), dims))


class _Tx(SqlTx):
    """A transaction on one connection (see `lattice_embed.engine.store.Tx`)."""

    _conn: sqlite3.Connection

    NEXT_STAMP = ("UPDATE meta SET value = CAST(value AS INTEGER) + 1 "
                  "WHERE key = 'stamp' RETURNING value")
    READ_STAMP = "SELECT value FROM meta WHERE key = 'stamp'"
    SPACE_RECORD = "SELECT record FROM spaces WHERE space_id = ?"

    # -- documents ---------------------------------------------------------------------------

    def upsert_documents(self, items: Sequence[tuple[str, str]]) -> list[Document]:
        stamp = self.stamp
        sql = ("INSERT INTO documents (id, text, version, stamp) VALUES (?, ?, 1, ?) "
               "ON CONFLICT (id) DO UPDATE SET text = excluded.text, version = version + 1, "
               "stamp = excluded.stamp RETURNING seq, id, text, version")
        return [Document(*self._one(sql, (doc_id, text, stamp))) for doc_id, text in items]

    def delete_documents(self, ids: Sequence[str]) -> list[Document]:
        gone = [Document(*row) for doc_id in ids for row in self._all(
            "DELETE FROM documents WHERE id = ? RETURNING seq, id, text, version", (doc_id,))]
        if gone:
            stamp = self.stamp
            self._conn.executemany(
                "UPDATE vectors SET vector = NULL, stamp = ? WHERE seq = ? AND vector IS NOT NULL",
                [(stamp, doc.seq) for doc in gone])
        return gone

    def documents_by_id(self, ids: Sequence[str]) -> list[Document]:
        sql = "SELECT seq, id, text, version FROM documents WHERE id = ?"
        return [Document(*row) for doc_id in ids for row in self._all(sql, (doc_id,))]

    def documents_by_seq(self, seqs: Sequence[int]) -> list[Document]:
        sql = "SELECT seq, id, text, version FROM documents WHERE seq = ?"
        found = [Document(*row) for seq in seqs for row in self._all(sql, (seq,))]
        return sorted(found, key=lambda doc: doc.seq)

    def documents_in_range(self, lo_seq: int, hi_seq: int) -> list[Document]:
        rows = self._all("SELECT seq, id, text, version FROM documents WHERE seq > ? AND seq <= ? "
                         "ORDER BY seq", (lo_seq, hi_seq))
        return [Document(*row) for row in rows]

    def count_documents(self) -> int:
        return int(self._one("SELECT COUNT(*) FROM documents")[0])

    def stale_documents(
        self, space_id: int, since_stamp: int, migration_id: str, limit: int
    ) -> list[Document]:
        rows = self._all(
            "SELECT d.seq, d.id, d.text, d.version FROM documents d "
            "LEFT JOIN vectors v ON v.space_id = ? AND v.seq = d.seq "
            "WHERE d.stamp > ? AND (v.vector IS NULL OR v.version < d.version) "
            "AND NOT EXISTS (SELECT 1 FROM skips s WHERE s.migration_id = ? AND s.seq = d.seq "
            "AND s.version = d.version) ORDER BY d.seq LIMIT ?",
            (space_id, since_stamp, migration_id, limit))
        return [Document(*row) for row in rows]

    # -- spaces and vectors ------------------------------------------------------------------

    def spaces(self) -> list[Space]:
        return [decode(row[0], Space) for row in
                self._all("SELECT record FROM spaces ORDER BY space_id")]

    def create_space(self, spec: SpaceSpec, created_at: str) -> Space:
        space_id = int(self._one("INSERT INTO spaces (name, record) VALUES (?, '') "
                                 "RETURNING space_id", (spec.name,))[0])
        space = Space(space_id, spec, created_at)
        self._conn.execute("UPDATE spaces SET record = ? WHERE space_id = ?",
                           (encode(space), space_id))
        return space

    def drop_space(self, space_id: int) -> None:
        self._conn.execute("DELETE FROM vectors WHERE space_id = ?", (space_id,))
        self._conn.execute("DELETE FROM spaces WHERE space_id = ?", (space_id,))

    def put_vectors(
        self, space_id: int, keys: Sequence[tuple[int, int]], matrix: FloatMatrix
    ) -> int:
        if not keys:
            return 0
        stamp = self.stamp
        cursor = self._conn.executemany(
            "INSERT INTO vectors (space_id, seq, version, stamp, vector) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (space_id, seq) DO UPDATE SET version = excluded.version, "
            "stamp = excluded.stamp, vector = excluded.vector "
            "WHERE vectors.vector IS NULL OR vectors.version < excluded.version",
            [(space_id, seq, version, stamp, _blob(row))
             for (seq, version), row in zip(keys, matrix)])
        return int(cursor.rowcount)

    def remove_vectors(self, space_id: int, seqs: Sequence[int]) -> None:
        stamp = self.stamp
        self._conn.executemany(
            "UPDATE vectors SET vector = NULL, stamp = ? "
            "WHERE space_id = ? AND seq = ? AND vector IS NOT NULL",
            [(stamp, space_id, seq) for seq in seqs])

    def vector_versions(self, space_id: int, seqs: Sequence[int]) -> dict[int, int]:
        sql = ("SELECT seq, version FROM vectors WHERE space_id = ? AND seq = ? "
               "AND vector IS NOT NULL")
        return {row[0]: row[1] for seq in seqs for row in self._all(sql, (space_id, seq))}

    def vectors(self, space_id: int, *, chunk: int = 4096) -> Iterator[VectorRows]:
        dims, after = self._dimensions(space_id), 0
        while True:
            rows = self._all(
                "SELECT v.seq, d.id, v.version, v.vector FROM vectors v "
                "JOIN documents d ON d.seq = v.seq WHERE v.space_id = ? AND v.seq > ? "
                "AND v.vector IS NOT NULL ORDER BY v.seq LIMIT ?", (space_id, after, chunk))
            if not rows:
                return
            yield _rows(rows, dims)
            after = rows[-1][0]

    def vector_changes(self, space_id: int, since_stamp: int) -> VectorChanges:
        rows = self._all(
            "SELECT v.seq, d.id, v.version, v.vector FROM vectors v "
            "LEFT JOIN documents d ON d.seq = v.seq WHERE v.space_id = ? AND v.stamp > ? "
            "ORDER BY v.seq", (space_id, since_stamp))
        written = [row for row in rows if row[3] is not None]
        removed = np.array([row[0] for row in rows if row[3] is None], dtype=np.int64)
        return VectorChanges(self.stamp, _rows(written, self._dimensions(space_id)), removed)

    def count_vectors(self, space_id: int) -> int:
        return int(self._one("SELECT COUNT(*) FROM vectors WHERE space_id = ? "
                             "AND vector IS NOT NULL", (space_id,))[0])

    def search(self, space_id: int, query: FloatMatrix, k: int) -> list[tuple[str, float]]:
        raise StoreError("a SQLite store has no vector search of its own: search in memory "
                         "(the default)")

    def create_index(self, space_id: int, kind: str) -> None:
        raise StoreError(f"a SQLite store has no {kind} index: search in memory is exact")

    # -- settings ----------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", ("setting:" + key,))
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str) -> None:
        self._conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", ("setting:" + key, value))

    # -- migrations, events, skips -----------------------------------------------------------

    def migration(self) -> MigrationRecord | None:
        row = self._one("SELECT record FROM migrations ORDER BY opened DESC LIMIT 1")
        return None if row is None else decode(row[0], MigrationRecord)

    def save_migration(self, record: MigrationRecord) -> None:
        self._conn.execute(
            "INSERT INTO migrations (id, opened, record) VALUES "
            "(?, (SELECT COALESCE(MAX(opened), 0) + 1 FROM migrations), ?) "
            "ON CONFLICT (id) DO UPDATE SET record = excluded.record", (record.id, encode(record)))

    def append_event(self, event: Event) -> int:
        cursor = self._conn.execute("INSERT INTO events (migration_id, record) VALUES (?, ?)",
                                    (event.migration_id, encode(event)))
        return int(cursor.lastrowid or 0)

    def events(self, migration_id: str | None = None) -> list[Event]:
        if migration_id is None:
            rows = self._all("SELECT event_id, record FROM events ORDER BY event_id")
        else:
            rows = self._all("SELECT event_id, record FROM events WHERE migration_id = ? "
                             "ORDER BY event_id", (migration_id,))
        return [_with_id(decode(record, Event), event_id) for event_id, record in rows]

    def add_skips(self, skips: Sequence[Skip]) -> None:
        self._conn.executemany(
            "INSERT INTO skips (migration_id, seq, version, record) VALUES (?, ?, ?, ?)",
            [(skip.migration_id, skip.seq, skip.version, encode(skip)) for skip in skips])

    def skips(self, migration_id: str) -> list[Skip]:
        rows = self._all("SELECT record FROM skips WHERE migration_id = ? ORDER BY skip_id",
                         (migration_id,))
        return [decode(row[0], Skip) for row in rows]

    # -- the backfill's work queue -----------------------------------------------------------

    def create_batches(self, migration_id: str, batch_size: int, high_water_seq: int) -> int:
        self._conn.execute(
            "INSERT INTO batches (migration_id, batch_no, lo_seq, hi_seq, size) "
            "WITH numbered AS (SELECT seq, (ROW_NUMBER() OVER (ORDER BY seq) - 1) / ? AS grp "
            "FROM documents WHERE seq <= ?), "
            "grouped AS (SELECT grp, MAX(seq) AS hi, COUNT(*) AS size FROM numbered GROUP BY grp) "
            "SELECT ?, grp, COALESCE(LAG(hi) OVER (ORDER BY grp), 0), hi, size FROM grouped",
            (batch_size, high_water_seq, migration_id))
        row = self._one("SELECT COALESCE(SUM(size), 0) FROM batches WHERE migration_id = ?",
                        (migration_id,))
        return int(row[0])

    def lease_batch(
        self, migration_id: str, owner: str, now: float, until: float, reclaim: Sequence[str]
    ) -> Batch | None:
        marks = ", ".join("?" * len(reclaim)) or "NULL"
        row = self._one(
            "SELECT batch_no, lo_seq, hi_seq, size FROM batches WHERE migration_id = ? "
            f"AND done = 0 AND (owner IS NULL OR expires < ? OR owner IN ({marks})) "
            "ORDER BY batch_no LIMIT 1", (migration_id, now, *reclaim))
        if row is None:
            return None
        self._conn.execute("UPDATE batches SET owner = ?, expires = ? "
                           "WHERE migration_id = ? AND batch_no = ?",
                           (owner, until, migration_id, row[0]))
        return Batch(migration_id, *row)

    def lease_owners(self, migration_id: str) -> list[str]:
        rows = self._all("SELECT DISTINCT owner FROM batches WHERE migration_id = ? AND done = 0 "
                         "AND owner IS NOT NULL", (migration_id,))
        return [row[0] for row in rows]

    def release_batch(self, migration_id: str, batch_no: int, owner: str) -> None:
        self._conn.execute("UPDATE batches SET owner = NULL, expires = NULL "
                           "WHERE migration_id = ? AND batch_no = ? AND owner = ?",
                           (migration_id, batch_no, owner))

    def complete_batch(self, migration_id: str, batch_no: int) -> bool:
        cursor = self._conn.execute(
            "UPDATE batches SET done = 1, owner = NULL, expires = NULL "
            "WHERE migration_id = ? AND batch_no = ? AND done = 0", (migration_id, batch_no))
        return cursor.rowcount == 1


def _with_id(event: Event, event_id: int) -> Event:
    import msgspec

    return msgspec.structs.replace(event, event_id=event_id)


class SQLiteStore:
    """The embedded store: one SQLite file, created with its schema on first use.

    Safe to share between threads (a connection per thread) and processes (SQLite's locks; a
    writer waits up to a minute for another). Refuses a file that is not a lattice_embed store,
    or one of another schema version, with a `StoreError`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self.url = str(self.path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self._connection()  # creates the schema, or refuses the file, now

    def __repr__(self) -> str:
        return f"SQLiteStore({self.url!r})"

    def _connect(self) -> sqlite3.Connection:
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot open store {self.path}: folder {self.path.parent} does not "
                             "exist")
        try:
            # check_same_thread=False only so that close() may close it from another thread;
            # each connection is used by the thread that made it.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            self._check_schema(conn)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot open store {self.path}: {error}") from error
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        tables = {row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            raise StoreError(f"{self.path} is a SQLite file but not a lattice_embed store "
                             f"(it has tables {', '.join(sorted(tables))})")
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in filter(str.strip, _SCHEMA.split(";")):
                conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('stamp', '0')")
            version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
            found = int(version.fetchone()[0])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if found != SCHEMA_VERSION:
            raise StoreError(f"{self.path} holds schema version {found}; this lattice_embed "
                             f"reads version {SCHEMA_VERSION}")
        unknown = tables - _TABLES
        if unknown:
            raise StoreError(f"{self.path} has tables this lattice_embed does not know: "
                             f"{', '.join(sorted(unknown))}")

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"store {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = self._connect()
            self._local.conn, self._local.pid = conn, os.getpid()
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[_Tx]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as error:
            raise StoreError(f"store {self.path}: {error}") from error
        try:
            yield _Tx(conn, write, {})
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as error:
            conn.execute("ROLLBACK")
            raise StoreError(f"store {self.path}: {error}") from error

    def close(self) -> None:
        """Close every connection this store opened (in this process)."""
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
