"""What the two SQL stores' transactions share (`SQLiteStore`, `PostgresStore`): the connection,
the stamp taken once per transaction, and the cache of each space's dimension. Each store's
subclass gives the SQL of its dialect."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from .errors import StoreError
from .records import Space, decode


class SqlTx:
    """The base of a store's `Tx` (see `lattice_embed.engine.store.Tx`) on one DB-API connection."""

    NEXT_STAMP: ClassVar[str]
    """Advances the store-wide counter and returns its new value (write transactions)."""
    READ_STAMP: ClassVar[str]
    """Returns the counter's value (read-only transactions)."""
    SPACE_RECORD: ClassVar[str]
    """Returns the encoded `Space` of the space id given as its one parameter."""

    def __init__(self, conn: Any, write: bool, dims: dict[int, int]) -> None:
        self._conn = conn
        self._write = write
        self._stamp: int | None = None
        self._dims = dims  # space id -> dimension; a space's dimension never changes

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._conn.execute(sql, params).fetchall())

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._conn.execute(sql, params).fetchone()

    @property
    def stamp(self) -> int:
        """This transaction's stamp, taken at its first use: one per transaction."""
        if self._stamp is None:
            self._stamp = int(self._one(self.NEXT_STAMP if self._write else self.READ_STAMP)[0])
        return self._stamp

    def _dimensions(self, space_id: int) -> int:
        if space_id not in self._dims:
            row = self._one(self.SPACE_RECORD, (space_id,))
            if row is None:
                raise StoreError(f"no space with id {space_id}")
            self._dims[space_id] = decode(row[0], Space).spec.dimensions
        return self._dims[space_id]
