"""One space's vectors in memory, searched with `simd.top_k` and kept current with writes.

The matrix is loaded once; after that every search first asks the store for its stamp (one
indexed read) and applies only the vectors written or removed since (`Tx.vector_changes`), so
writes from this process, other threads or other processes show up in the next search without
reloading the space. Rows are kept dense: a removed row is replaced by the last one.
"""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt

from .. import simd
from .records import Space
from .store import FloatMatrix, Tx, VectorRows

__all__ = ["SpaceIndex"]


class SpaceIndex:
    """The live vectors of one space; thread-safe."""

    def __init__(self, space: Space) -> None:
        self.space = space
        dims = space.spec.dimensions
        self._lock = threading.Lock()
        self._stamp = -1
        self._matrix: FloatMatrix = np.empty((1024, dims), np.float32)
        self._seqs = np.empty(1024, np.int64)
        self._ids: list[str] = []
        self._row: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def stamp(self) -> int:
        """The store stamp this copy is current to (-1 before the first refresh)."""
        return self._stamp

    def refresh(self, tx: Tx) -> None:
        """Bring the copy up to `tx`'s snapshot: everything on first use, then the changes."""
        with self._lock:
            stamp = tx.stamp
            if stamp == self._stamp:
                return
            space_id = self.space.space_id
            if self._stamp < 0:
                for rows in tx.vectors(space_id):
                    self._write(rows)
            else:
                changes = tx.vector_changes(space_id, self._stamp)
                for seq in changes.removed.tolist():
                    self._remove(seq)
                self._write(changes.written)
            self._stamp = stamp

    def _write(self, rows: VectorRows) -> None:
        fresh = [i for i, seq in enumerate(rows.seqs.tolist()) if seq not in self._row]
        for i, seq in enumerate(rows.seqs.tolist()):
            if seq in self._row:
                self._matrix[self._row[seq]] = rows.matrix[i]
        if not fresh:
            return
        start = len(self._ids)
        need = start + len(fresh)
        if need > len(self._seqs):
            capacity = max(need, 2 * len(self._seqs))
            self._matrix = np.resize(self._matrix, (capacity, self._matrix.shape[1]))
            self._seqs = np.resize(self._seqs, capacity)
        self._matrix[start:need] = rows.matrix[fresh]
        self._seqs[start:need] = rows.seqs[fresh]
        for offset, i in enumerate(fresh):
            self._row[int(rows.seqs[i])] = start + offset
            self._ids.append(rows.ids[i])

    def _remove(self, seq: int) -> None:
        row = self._row.pop(seq, None)
        if row is None:
            return
        last = len(self._ids) - 1
        if row != last:
            moved = int(self._seqs[last])
            self._matrix[row] = self._matrix[last]
            self._seqs[row] = moved
            self._ids[row] = self._ids[last]
            self._row[moved] = row
        self._ids.pop()

    def search(
        self, queries: npt.ArrayLike, k: int
    ) -> tuple[list[list[str]], npt.NDArray[np.float32]]:
        """The `k` most cosine-similar documents per query (`(d,)` or `(m, d)`): ids and
        scores, best first."""
        with self._lock:
            n = len(self._ids)
            rows, scores = simd.top_k(queries, self._matrix[:n], k, "cosine")
            matrix_rows = np.atleast_2d(rows)
            ids = [[self._ids[row] for row in line] for line in matrix_rows.tolist()]
        return ids, scores

    def snapshot(self) -> tuple[npt.NDArray[np.int64], list[str], FloatMatrix]:
        """Copies of the seqs, ids and vectors (for the quality gate)."""
        with self._lock:
            n = len(self._ids)
            return self._seqs[:n].copy(), list(self._ids), self._matrix[:n].copy()
