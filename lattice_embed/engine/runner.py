"""The backfill runner: embeds the planned documents with the target model, batch by batch,
so that a kill at any instant loses no finished batch and counts none twice.

Each batch is leased from the store's work queue, read, embedded (outside any transaction),
then committed in one transaction that writes the vectors, marks the batch done and records its
counts through the port's coordinator. A batch done twice (a runner killed after its commit, two
runners, a lease that expired) writes and counts once: the queue's done mark and the store's
"only newer vectors" rule see to it. Leases of a runner that died are taken over: at once when
it ran on this host (its process is gone), else when the lease expires.

Every planned document is counted exactly once, as processed or skipped (deleted before the
backfill reached it: `content_deleted`; failing after retries: `permanent_api_error` and the
others). Documents written after the plan are not counted; the *catch-up* embeds those the
target lacks (dual-write off, writes while paused, a document changed while its batch was in
flight) before the last batch is counted, so a complete backfill means a current target.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np

from ..backfill import BackfillConfig
from ..migration import Completed, InProgress, MigrationState, Planned, SkipReason
from ..service.errors import (
    InvalidInputError,
    ModelInitializationError,
    TextTooLongError,
    UnsupportedModelError,
)
from .errors import EngineError, MigrationConflictError
from .models import Encoder
from .records import Batch, Document, Event, MigrationRecord, Skip, Space, iso_time
from .routing import counts, port_state, reads_on_target
from .store import FloatMatrix, Tx

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["BackfillRunner", "RunReport"]

_FATAL = (EngineError, ModelInitializationError, UnsupportedModelError, FileNotFoundError,
          ImportError)
"""Errors no retry or skip can help: the migration fails (or, for a model that is not the
target's, the run is refused) with the message."""
_PER_TEXT = (TextTooLongError, InvalidInputError, UnicodeError)
"""Errors that belong to one text: never retried, the document is skipped."""


class RunReport(msgspec.Struct, frozen=True):
    """How a run ended. `outcome` is completed, paused, cancelled, failed, or stopped (by
    `max_batches`, or with nothing to lease and `wait=False`)."""

    outcome: str
    message: str
    migration_id: str
    processed: int
    skipped: int
    total: int
    batches: int = 0
    written: int = 0
    retries: int = 0

    @property
    def exit_code(self) -> int:
        """0 when the backfill is complete (or stopped on request), 1 otherwise."""
        return 0 if self.outcome in ("completed", "stopped") else 1


@dataclass
class _Embedded:
    """A batch's vectors: `matrix[i]` for `ok[i]`; `failed` documents with their reason."""

    ok: list[Document]
    matrix: FloatMatrix
    failed: list[tuple[Document, SkipReason]] = field(default_factory=list)
    retries: int = 0


class _Systemic(Exception):
    """Every document of a batch failed alone: the model, not the data, is broken."""


_HOST = socket.gethostname()


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class BackfillRunner:
    """Runs the open migration's backfill in this process.

    rate: most texts per second (None: as fast as the encoder goes). progress: a progress bar
    on stderr (None: when stderr is a terminal). attempts: tries per batch before its documents
    are tried one by one (each once more); waits grow from `backoff` seconds up to
    `max_backoff`. lease_secs: how long another runner waits before taking over a batch of a
    runner it cannot see die. max_batches: stop after counting this many (tests, smoke runs).
    wait: when every remaining batch is leased to another runner, wait for them (True) or
    return "stopped" (False). finish: once the backfill is complete, measure the gate and cut
    over (False leaves that to whoever started several runners, e.g. the Ray driver).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        rate: float | None = None,
        progress: bool | None = None,
        attempts: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        lease_secs: float = 120.0,
        max_batches: int | None = None,
        wait: bool = True,
        finish: bool = True,
        poll_secs: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be a positive number of texts per second, got {rate}")
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        self.engine = engine
        self.rate, self.attempts = rate, attempts
        self.backoff, self.max_backoff = backoff, max_backoff
        self.lease_secs, self.max_batches = lease_secs, max_batches
        self.wait, self.finish, self.poll_secs, self._sleep = wait, finish, poll_secs, sleep
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._next_slot = 0.0
        self._batches = self._written = self._retries = 0
        self._bar: Any = None

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> RunReport:
        """Backfill until the migration completes (and cuts over, if the gate allows), pauses,
        fails or is cancelled. A model that is not the target space's is refused before any
        work (`ModelMismatchError`)."""
        engine = self.engine
        record = engine.migration()
        if record is None or record.finalized_at is not None:
            raise MigrationConflictError("no migration is open: plan one first "
                                         "(lattice-embed migrate plan --to MODEL)")
        target = engine.views(record)[1]
        encoder = engine.encoder(target)  # refuses a model whose fingerprint differs
        record = self._attach(record)
        try:
            self._open_bar(record)
            record = self._loop(record, target, encoder)
        except _Systemic as error:
            record = engine.fail(str(error))
        except EngineError:  # the store, or a model that is not the target's: refused, raised
            raise
        except _FATAL as error:  # a model that cannot load: the migration fails with it
            record = engine.fail(f"{type(error).__name__}: {error}")
        finally:
            if self._bar is not None:
                self._bar.close()
        return self.conclude(record) if self.finish else self._report(record, "")

    def _attach(self, record: MigrationRecord) -> MigrationRecord:
        """Start a planned migration, or log this runner joining one in progress: one
        transaction, so that runners starting together start it once."""
        with self.engine.store.transaction(write=True) as tx:
            current = tx.migration() or record
            state = port_state(current)
            if isinstance(state, Planned):
                coordinator = self.engine.coordinator(current)
                coordinator.start()
                current = msgspec.structs.replace(current, state=coordinator.state.to_dict(),
                                                  started_at=self.engine.clock())
                tx.save_migration(current)
                tx.append_event(self._event(current, "started",
                                            f"backfill started by runner {self.owner}"))
            elif isinstance(state, InProgress):
                tx.append_event(self._event(current, "run", f"runner {self.owner} joined at "
                                            f"{state.processed + state.skipped}/{state.total}"))
            return current

    def _loop(self, record: MigrationRecord, target: Space, encoder: Encoder) -> MigrationRecord:
        while True:
            if self.max_batches is not None and self._batches >= self.max_batches:
                return record
            batch, record = self._lease(record)
            state = port_state(record)
            if not isinstance(state, InProgress):
                return record
            if state.total == 0:  # nothing was planned: catch up, then complete
                self._catch_up(record, target, encoder, None)
                record = self.engine.transition("completed", lambda c: c.record_batch(0),
                                                "nothing was planned to backfill")
                continue
            if batch is None:
                if not self.wait:
                    return record
                self._sleep(self.poll_secs)
                continue
            try:
                record, outcome = self._batch(batch, record, target, encoder)
            except BaseException:  # give the lease back, so that a rerun need not wait for it
                with self.engine.store.transaction(write=True) as tx:
                    tx.release_batch(batch.migration_id, batch.batch_no, self.owner)
                raise
            if outcome == "catch_up":
                self._catch_up(record, target, encoder, batch)
            elif outcome == "counted":
                self._batches += 1
                self._update_bar(record)
                record = self._maybe_switch_reads(record)

    def _lease(self, record: MigrationRecord) -> tuple[Batch | None, MigrationRecord]:
        now = self.engine.clock()
        with self.engine.store.transaction(write=True) as tx:
            current = tx.migration()
            if current is None or current.id != record.id:
                raise EngineError(f"migration {record.id} is no longer the store's latest")
            if not isinstance(port_state(current), InProgress):
                return None, current
            reclaim = [owner for owner in tx.lease_owners(current.id) if self._reclaimable(owner)]
            batch = tx.lease_batch(current.id, self.owner, now, now + self.lease_secs, reclaim)
            return batch, current

    def _reclaimable(self, owner: str) -> bool:
        """Our own leases, and those of runners on this host whose process is gone."""
        if owner == self.owner:
            return True
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if host != _HOST or not pid.isdigit() or int(pid) == os.getpid():
            return False
        return _process_gone(int(pid))

    def _batch(
        self, batch: Batch, record: MigrationRecord, target: Space, encoder: Encoder
    ) -> tuple[MigrationRecord, str]:
        """Embed and commit one batch: ("counted" | "catch_up" | "duplicate" | "stopped")."""
        store, space_id = self.engine.store, target.space_id
        with store.transaction() as tx:
            docs = tx.documents_in_range(batch.lo_seq, batch.hi_seq)
            have = tx.vector_versions(space_id, [doc.seq for doc in docs])
        embedded = self._embed([doc for doc in docs if have.get(doc.seq, 0) < doc.version],
                               encoder)
        with store.transaction(write=True) as tx:
            record = tx.migration() or record
            current = {doc.seq: doc for doc in tx.documents_in_range(batch.lo_seq, batch.hi_seq)}
            self._written += self._put(tx, space_id, embedded, current)
            state = port_state(record)
            if record.id != batch.migration_id or not isinstance(state, InProgress):
                tx.release_batch(batch.migration_id, batch.batch_no, self.owner)
                return record, "stopped"
            failed = [(doc, why) for doc, why in embedded.failed if doc.seq in current]
            failed_seqs = {doc.seq for doc, _ in failed}
            remaining = state.total - state.processed - state.skipped
            if remaining == batch.size:  # the last batch: the target must be current first
                stale = [doc for doc in tx.stale_documents(space_id, record.plan_stamp,
                                                           record.id, len(failed) + 1)
                         if doc.seq not in failed_seqs]
                if stale:
                    tx.release_batch(batch.migration_id, batch.batch_no, self.owner)
                    return record, "catch_up"
            if not tx.complete_batch(batch.migration_id, batch.batch_no):
                return record, "duplicate"
            reasons: list[SkipReason] = [SkipReason.content_deleted()] * (batch.size - len(current))
            reasons += [why for _, why in failed]
            coordinator = self.engine.coordinator(record)
            for reason in reasons:
                coordinator.record_skip(reason)
            coordinator.record_batch(len(current) - len(failed))
            record = msgspec.structs.replace(record, state=coordinator.state.to_dict(),
                                             error_count=record.error_count + embedded.retries)
            at = iso_time(self.engine.clock())
            tx.add_skips([Skip(record.id, reason.to_dict(), at, True) for reason in
                          reasons[:batch.size - len(current)]] +
                         [Skip(record.id, why.to_dict(), at, True, doc.seq, doc.version, doc.id)
                          for doc, why in failed])
            tx.save_migration(record)
            if isinstance(port_state(record), Completed):
                tx.append_event(self._event(record, "completed", "every planned document is "
                                            "processed or skipped, and the target is current"))
        return record, "counted"

    def _put(self, tx: Tx, space_id: int, embedded: _Embedded,
             current: dict[int, Document]) -> int:
        """Write the vectors whose document is still at the version embedded."""
        rows = [i for i, doc in enumerate(embedded.ok) if current.get(doc.seq) == doc]
        keys = [(embedded.ok[i].seq, embedded.ok[i].version) for i in rows]
        return int(tx.put_vectors(space_id, keys, embedded.matrix[rows]))

    def _catch_up(self, record: MigrationRecord, target: Space, encoder: Encoder,
                  final: Batch | None) -> None:
        """Embed what the target lacks among documents written after the plan (the final
        batch's own range is left to it), recording failures as uncounted skips."""
        store, space_id = self.engine.store, target.space_id
        size = BackfillConfig.from_dict(record.config).batch_size
        while True:
            with store.transaction() as tx:
                stale = tx.stale_documents(space_id, record.plan_stamp, record.id,
                                           size + (final.size if final else 0))
            if final is not None:
                stale = [doc for doc in stale
                         if not final.lo_seq < doc.seq <= final.hi_seq]
            if not stale:
                return
            embedded = self._embed(stale[:size], encoder)
            with store.transaction(write=True) as tx:
                record = tx.migration() or record
                if not isinstance(port_state(record), InProgress):
                    return
                current = {doc.seq: doc for doc in tx.documents_by_seq(
                    [doc.seq for doc in stale[:size]])}
                self._written += self._put(tx, space_id, embedded, current)
                at = iso_time(self.engine.clock())
                tx.add_skips([Skip(record.id, why.to_dict(), at, False, doc.seq, doc.version,
                                   doc.id) for doc, why in embedded.failed])
                record = msgspec.structs.replace(
                    record, error_count=record.error_count + embedded.retries)
                tx.save_migration(record)

    # -- embedding with retries, skips and a rate ------------------------------------------

    def _embed(self, docs: Sequence[Document], encoder: Encoder) -> _Embedded:
        dims = encoder.spec.dimensions
        if not docs:
            return _Embedded([], np.empty((0, dims), np.float32))
        self._throttle(len(docs))
        before = self._retries
        try:
            matrix = self._retrying(lambda: encoder.embed_documents([d.text for d in docs]),
                                    self.attempts)
            return _Embedded(list(docs), matrix, [], self._retries - before)
        except _FATAL:
            raise
        except Exception as error:  # noqa: BLE001 - retried, then one document at a time
            first = error
        ok: list[Document] = []
        rows: list[FloatMatrix] = []
        failed: list[tuple[Document, SkipReason]] = []
        for doc in docs:
            try:
                rows.append(self._retrying(partial(encoder.embed_documents, [doc.text]), 2))
                ok.append(doc)
            except _FATAL:
                raise
            except TextTooLongError as error:
                failed.append((doc, SkipReason.content_too_large(error.length, error.max)))
            except _PER_TEXT:
                failed.append((doc, SkipReason.invalid_encoding("utf-8")))
            except Exception as error:  # noqa: BLE001 - the document is skipped, the run goes on
                failed.append((doc, SkipReason.permanent_api_error(
                    f"{type(error).__name__}: {error}")))
        if len(docs) > 1 and not ok and not isinstance(first, _PER_TEXT):
            raise _Systemic(f"every document of a batch of {len(docs)} failed, alone too: "
                            f"{type(first).__name__}: {first}")
        matrix = np.concatenate(rows) if rows else np.empty((0, dims), np.float32)
        return _Embedded(ok, matrix, failed, self._retries - before)

    def _retrying(self, call: Callable[[], FloatMatrix], attempts: int) -> FloatMatrix:
        """`call()`, tried up to `attempts` times with growing waits; per-text and fatal errors
        are raised at once."""
        import tenacity

        def count(_: tenacity.RetryCallState) -> None:
            self._retries += 1

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts),
            wait=tenacity.wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=tenacity.retry_if_not_exception_type(_FATAL + _PER_TEXT),
            before_sleep=count, sleep=self._sleep, reraise=True)
        return retrying(call)

    def _throttle(self, texts: int) -> None:
        if self.rate is None:
            return
        now = self.engine.clock()
        start = max(now, self._next_slot)
        self._next_slot = start + texts / self.rate
        if start > now:
            self._sleep(start - now)

    # -- reads, cutover, reporting -----------------------------------------------------------

    def _maybe_switch_reads(self, record: MigrationRecord) -> MigrationRecord:
        """At the threshold (before completion), switch reads if the gate passes; measured once."""
        state = port_state(record)
        threshold = BackfillConfig.from_dict(record.config).target_query_threshold
        if (isinstance(state, InProgress) and not reads_on_target(record)
                and record.gate_report is None and state.effective_coverage >= threshold):
            self.engine.switch_reads()
            return self.engine.migration() or record
        return record

    def conclude(self, record: MigrationRecord) -> RunReport:
        """The report of a run that ended at `record`; a complete backfill is cut over first
        if the gate allows (and the plan does not ask for a manual cutover)."""
        state = port_state(record)
        message = ""
        if isinstance(state, Completed) and record.cutover_at is None and \
                record.rolled_back_at is None:
            last = record.gate_report
            if record.manual_cutover:
                message = "; cutover is manual: lattice-embed migrate cutover"
            elif last is None or last.coverage < 1.0 or last.passed:
                try:
                    self.engine.cutover()
                    message = f"; cut over: reads now on {record.target}"
                except EngineError as error:
                    message = f"; {error}"
            else:
                message = f"; cutover refused by the gate: {'; '.join(last.failures)}"
            record = self.engine.migration() or record
        return self._report(record, message)

    def _report(self, record: MigrationRecord, suffix: str) -> RunReport:
        state = port_state(record)
        processed, skipped, total = counts(record)
        done = f"{processed + skipped}/{total}"
        outcomes = {"Completed": "completed", "Paused": "paused", "Failed": "failed",
                    "Cancelled": "cancelled"}
        outcome = outcomes.get(state.RUST_NAME, "stopped")
        detail = getattr(state, "reason", None) or getattr(state, "error", None)
        ran = f" (this run: {self._batches} batches)" if self._batches else ""
        message = (f"migration {record.id} {outcome} at {done}{ran}"
                   + (f": {detail}" if detail else "") + suffix)
        return RunReport(outcome, message, record.id, processed, skipped, total, self._batches,
                         self._written, self._retries)

    def _event(self, record: MigrationRecord, kind: str, reason: str) -> Event:
        return Event(record.id, iso_time(self.engine.clock()), kind, reason, record.state)

    def _log(self, record: MigrationRecord, kind: str, reason: str) -> None:
        with self.engine.store.transaction(write=True) as tx:
            tx.append_event(self._event(record, kind, reason))

    def _open_bar(self, record: MigrationRecord) -> None:
        if not self.progress:
            return
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

        state = port_state(record)
        self._bar = tqdm(total=state.total, initial=state.processed + state.skipped,
                         unit="doc", desc=f"{record.source} -> {record.target}",
                         file=sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def _update_bar(self, record: MigrationRecord) -> None:
        if self._bar is None:
            return
        state: MigrationState = port_state(record)
        self._bar.update(state.processed + state.skipped - self._bar.n)
        self._bar.set_postfix(skipped=state.skipped, refresh=False)


