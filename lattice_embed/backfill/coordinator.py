"""Routing and batch sizing layered over the migration state machine."""

from __future__ import annotations

import threading
import time

from .._serde import PicklesWithoutLock, check_usize, describe
from ..migration import (
    Clock,
    Completed,
    InProgress,
    MigrationController,
    MigrationPlan,
    MigrationProgress,
    MigrationState,
    SkipReason,
)
from ..model import EmbeddingModel
from .types import BackfillConfig, EmbeddingRoute, EmbeddingRoutingConfig, RoutingPhase

__all__ = ["BackfillCoordinator"]


class BackfillCoordinator(PicklesWithoutLock):
    """Decides where embeddings are written and read while a migration runs.

    Wraps a `MigrationController` (every transition is the controller's, with its errors)
    and adds routing and batch sizing, exactly as the original's `BackfillCoordinator`:

    ==========  =============  ==============  ===========================
    State       new document   existing doc    query
    ==========  =============  ==============  ===========================
    Planned     LEGACY         LEGACY          LEGACY
    InProgress  DUAL_WRITE[1]  LEGACY          TARGET once processed/total
                                               >= threshold, else LEGACY
    Paused      LEGACY         LEGACY          LEGACY
    Completed   TARGET         TARGET          TARGET
    Failed      LEGACY         LEGACY          LEGACY
    Cancelled   LEGACY         LEGACY          LEGACY
    ==========  =============  ==============  ===========================

    [1] LEGACY when `config.dual_write` is off. `route_request` says TARGET during the
    rollback window; writers that must keep both indexes current use `routing_config()`.

    Cutover is the moment `record_batch` observes completion; the rollback window runs
    `config.rollback_window_secs` from then on `clock`, which also times the controller.

    Safe to share between threads: `record_batch` (count, progress, cutover) runs under a lock,
    and so does every call of the controller. Pickles without the lock.
    """

    def __init__(
        self,
        plan: MigrationPlan,
        config: BackfillConfig | None = None,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        if config is None:
            config = BackfillConfig()
        if not isinstance(config, BackfillConfig):
            raise TypeError(f"config must be a BackfillConfig, got {describe(config)}")
        self._config = config
        self._clock = clock
        self._controller = MigrationController(plan, clock=clock)
        self._backfilled_count = 0
        self._cutover_at: float | None = None
        self._lock = threading.RLock()

    @classmethod
    def with_defaults(
        cls, plan: MigrationPlan, *, clock: Clock = time.monotonic
    ) -> BackfillCoordinator:
        """A coordinator with `BackfillConfig()`: batches of 100, dual-write on, queries
        switch at 80%, a 24-hour rollback window."""
        return cls(plan, BackfillConfig(), clock=clock)

    @classmethod
    def restore(
        cls,
        plan: MigrationPlan,
        config: BackfillConfig,
        state: MigrationState,
        *,
        started_at: float | None = None,
        cutover_at: float | None = None,
        clock: Clock = time.monotonic,
    ) -> BackfillCoordinator:
        """A coordinator standing at a stored `state` (see `MigrationController.restore`).

        `backfilled_count` restarts at the state's processed count; `cutover_at` (a `clock`
        reading) reopens the rollback window. Not in the original, which persists nothing.
        """
        coordinator = cls(plan, config, clock=clock)
        coordinator._controller = MigrationController.restore(
            plan, state, started_at=started_at, clock=clock
        )
        coordinator._backfilled_count = state.processed
        coordinator._cutover_at = cutover_at
        return coordinator

    def __repr__(self) -> str:
        return (
            f"BackfillCoordinator(plan_id={self.plan.id!r}, state={self.state!r}, "
            f"backfilled_count={self._backfilled_count})"
        )

    # -- what it knows ------------------------------------------------------------------

    @property
    def plan(self) -> MigrationPlan:
        return self._controller.plan

    @property
    def config(self) -> BackfillConfig:
        return self._config

    @property
    def state(self) -> MigrationState:
        return self._controller.state

    @property
    def source_model(self) -> EmbeddingModel:
        return self._controller.plan.source_model

    @property
    def target_model(self) -> EmbeddingModel:
        return self._controller.plan.target_model

    @property
    def backfilled_count(self) -> int:
        """The sum of every `count` passed to `record_batch`, including a refused call's."""
        return self._backfilled_count

    @property
    def in_rollback_window(self) -> bool:
        """True from cutover until `rollback_window_secs` have passed (the end excluded).

        Never true when cutover was not observed by `record_batch`, or with a 0-second window.
        """
        if self._cutover_at is None:
            return False
        elapsed = max(self._clock() - self._cutover_at, 0.0)
        return elapsed < self._config.rollback_window_secs

    def progress(self) -> MigrationProgress:
        """The controller's snapshot: state, skips, throughput, ETA, error count."""
        return self._controller.progress()

    # -- transitions (delegated) --------------------------------------------------------

    def start(self) -> None:
        """Planned -> InProgress. Raises `MigrationError` from any other state."""
        self._controller.start()

    def record_batch(self, count: int) -> None:
        """Count a finished backfill batch of `count` items.

        Raises `MigrationError` unless InProgress. As in the original, `backfilled_count`
        grows before the controller is asked, so a refused batch still counts there. If the
        batch completes the migration, this is the cutover: the rollback window opens.
        """
        check_usize(count, "count")
        with self._lock:
            was_in_progress = isinstance(self.state, InProgress)
            self._backfilled_count += count
            self._controller.record_progress(count)
            if was_in_progress and isinstance(self.state, Completed):
                self._cutover_at = self._clock()

    def record_error(self) -> None:
        """Count a non-fatal error; the state does not change."""
        self._controller.record_error()

    def record_skip(self, reason: SkipReason) -> None:
        """Leave one item out for good (see `MigrationController.record_skip`).

        Not on the original's facade (its callers reached into the controller). A skip
        never completes the migration: finish with `record_batch(0)` if skips cover the rest.
        """
        self._controller.record_skip(reason)

    def pause(self, reason: str) -> None:
        """InProgress -> Paused."""
        self._controller.pause(reason)

    def resume(self) -> None:
        """Paused or Failed -> InProgress."""
        self._controller.resume()

    def fail(self, error: str) -> None:
        """InProgress -> Failed. Not on the original's facade; added so that every state
        can be reached through the coordinator."""
        self._controller.fail(error)

    def cancel(self) -> None:
        """Any state but Completed and Cancelled -> Cancelled."""
        self._controller.cancel()

    # -- routing ------------------------------------------------------------------------

    def route_request(self, is_new_document: bool) -> EmbeddingRoute:
        """Which model embeds a write: see the table in the class docstring.

        `is_new_document` is True for a document indexed for the first time, False for one
        re-embedded in normal operation (not by the backfill).
        """
        state = self.state
        if isinstance(state, Completed):
            return EmbeddingRoute.TARGET
        if isinstance(state, InProgress) and is_new_document and self._config.dual_write:
            return EmbeddingRoute.DUAL_WRITE
        return EmbeddingRoute.LEGACY

    def route_query(self) -> EmbeddingRoute:
        """Which model's index answers queries.

        TARGET when Completed, or when InProgress with raw `processed / total` (1.0 for a
        zero total) at or above `target_query_threshold`. Like the original, this uses raw
        progress, not coverage net of skips. Otherwise LEGACY.
        """
        state = self.state
        if isinstance(state, Completed):
            return EmbeddingRoute.TARGET
        if isinstance(state, InProgress):
            progress = 1.0 if state.total == 0 else state.processed / state.total
            if progress >= self._config.target_query_threshold:
                return EmbeddingRoute.TARGET
        return EmbeddingRoute.LEGACY

    def routing_config(self) -> EmbeddingRoutingConfig:
        """Query model, write models and phase for the current state:

        ==================  ======  ================  ===============  ============
        State               query   writes            phase            migration_id
        ==================  ======  ================  ===============  ============
        Planned             source  source            STABLE           None
        InProgress          source  source, target[1] MIGRATING        plan.id
        Completed, window   target  source, target    ROLLBACK_WINDOW  plan.id
        Completed, after    target  target            STABLE           None
        Paused/Failed/Canc  source  source            STABLE           None
        ==================  ======  ================  ===============  ============

        [1] source only when `config.dual_write` is off.
        """
        with self._lock:  # the state and the window seen together
            return self._routing_config()

    def _routing_config(self) -> EmbeddingRoutingConfig:
        source, target = self.source_model, self.target_model
        state = self.state
        if isinstance(state, InProgress):
            writes = (source, target) if self._config.dual_write else (source,)
            return EmbeddingRoutingConfig(source, writes, RoutingPhase.MIGRATING, self.plan.id)
        if isinstance(state, Completed):
            if self.in_rollback_window:
                return EmbeddingRoutingConfig(
                    target, (source, target), RoutingPhase.ROLLBACK_WINDOW, self.plan.id
                )
            return EmbeddingRoutingConfig(target, (target,), RoutingPhase.STABLE)
        # Planned, Paused, Failed, Cancelled: the source model only.
        return EmbeddingRoutingConfig(source, (source,), RoutingPhase.STABLE)

    def next_batch_size(self) -> int:
        """How many items the next batch should take: 0 unless InProgress, else
        `min(total - processed - skipped, batch_size)` floored at 0 (net of skips, 0.4.0+)."""
        state = self.state
        if not isinstance(state, InProgress):
            return 0
        remaining = max(state.total - state.processed - state.skipped, 0)
        return min(remaining, self._config.batch_size)
