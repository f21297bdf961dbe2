"""The migration state machine: legal transitions, progress and skip accounting."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .._serde import PicklesWithoutLock, check_str, check_usize, describe
from .errors import MigrationError
from .plan import MigrationPlan
from .progress import MigrationProgress
from .skip import SkipReason
from .state import (
    Cancelled,
    Completed,
    Failed,
    InProgress,
    MigrationState,
    Paused,
    Planned,
)

__all__ = ["Clock", "MigrationController"]

Clock = Callable[[], float]
"""Seconds on a monotonic scale, like `time.monotonic`; inject a fake one in tests."""

_F = TypeVar("_F", bound=Callable[..., Any])


def _locked(method: _F) -> _F:
    """Run the method under its object's `_lock` (a re-entrant lock)."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(_F, run)


class MigrationController(PicklesWithoutLock):
    """Drives one migration through its states (the original's `MigrationController`).

    Legal transitions; every other call raises `MigrationError` and changes nothing::

        Planned    --start-->            InProgress
        InProgress --record_progress-->  InProgress, or Completed once
                                         processed >= total - skipped
        InProgress --pause-->            Paused     --resume--> InProgress
        InProgress --fail-->             Failed     --resume--> InProgress
        Planned, InProgress, Paused, Failed --cancel--> Cancelled

    Accounting follows the original (0.4.0+): an overshooting batch is kept as reported;
    a skip is refused once `processed + skipped` reaches `total`, and never completes the
    migration by itself (call `record_progress(0)`). Nothing here is persisted.

    `clock` times the run: `start()` notes the time; completion records the elapsed
    seconds; `progress()` divides by it. The timer keeps running through Paused and Failed.

    Safe to share between threads (unlike the original, which needs `&mut self`): each call
    runs under a lock, so concurrent calls count exactly. Pickles without the lock.
    """

    def __init__(self, plan: MigrationPlan, *, clock: Clock = time.monotonic) -> None:
        if not isinstance(plan, MigrationPlan):
            raise TypeError(f"plan must be a MigrationPlan, got {describe(plan)}")
        self._plan = plan
        self._clock = clock
        self._state: MigrationState = Planned()
        self._started_at: float | None = None
        self._error_count = 0
        self._skip_reasons: list[SkipReason] = []
        self._lock = threading.RLock()

    @classmethod
    def restore(
        cls,
        plan: MigrationPlan,
        state: MigrationState,
        *,
        started_at: float | None = None,
        clock: Clock = time.monotonic,
    ) -> MigrationController:
        """A controller standing at `state` (e.g. `MigrationState.from_dict` of a stored one).

        `started_at` is the `clock` reading at `start()` (None: now, unless Planned). Error
        count and skip reasons start empty: whoever stored the state keeps those. Not in the
        original, which persists nothing; the engine (`lattice_embed.engine`) keeps its
        migrations in a store and drives each transition from the stored state.
        """
        if not isinstance(state, MigrationState):
            raise TypeError(f"state must be a MigrationState, got {describe(state)}")
        controller = cls(plan, clock=clock)
        controller._state = state
        if not isinstance(state, Planned):
            controller._started_at = clock() if started_at is None else started_at
        return controller

    def __repr__(self) -> str:
        return f"MigrationController(plan_id={self._plan.id!r}, state={self._state!r})"

    # -- what it knows ------------------------------------------------------------------

    @property
    def plan(self) -> MigrationPlan:
        return self._plan

    @property
    def state(self) -> MigrationState:
        return self._state

    @property
    def error_count(self) -> int:
        """How many times `record_error()` was called."""
        return self._error_count

    @property
    def skip_reasons(self) -> tuple[SkipReason, ...]:
        """Every accepted skip's reason, oldest first."""
        with self._lock:
            return tuple(self._skip_reasons)

    @property
    def effective_coverage(self) -> float:
        """`processed / (total - skipped)`, 1.0 when that is 0; see `MigrationState`."""
        return self._state.effective_coverage

    # -- transitions ----------------------------------------------------------------------

    def _refuse(self, to_state: str) -> MigrationError:
        return MigrationError(self._state.rust_debug(), to_state)

    @_locked
    def start(self) -> None:
        """Planned -> InProgress(0, plan.total_embeddings, 0), and start the timer."""
        if not isinstance(self._state, Planned):
            raise self._refuse("InProgress")
        self._state = InProgress(processed=0, total=self._plan.total_embeddings, skipped=0)
        self._started_at = self._clock()

    @_locked
    def record_progress(self, newly_processed: int) -> None:
        """Count `newly_processed` more items done; complete at `total - skipped`.

        Completion keeps the processed count as reported, overshoot included, and the
        elapsed seconds since `start()`.
        """
        check_usize(newly_processed, "newly_processed")
        state = self._state
        if not isinstance(state, InProgress):
            raise self._refuse("InProgress (progress)")
        processed = state.processed + newly_processed
        if processed >= state.effective_total:
            self._state = Completed(
                processed=processed, skipped=state.skipped, duration_secs=self._elapsed()
            )
        else:
            self._state = InProgress(processed=processed, total=state.total, skipped=state.skipped)

    @_locked
    def record_error(self) -> None:
        """Count a non-fatal error (a retry, say); the state does not change."""
        self._error_count += 1

    @_locked
    def record_skip(self, reason: SkipReason) -> None:
        """Leave one item out for good: `skipped += 1` and keep `reason`.

        Refused once `processed + skipped` has reached `total` (0.4.0+), so a retried skip
        cannot push the counts past the plan.
        """
        if not isinstance(reason, SkipReason):
            raise TypeError(f"reason must be a SkipReason, got {describe(reason)}")
        state = self._state
        if not isinstance(state, InProgress):
            raise self._refuse("InProgress (skip)")
        if state.processed + state.skipped >= state.total:
            raise self._refuse(
                "InProgress (skip rejected: processed + skipped would exceed total "
                f"({state.total}))"
            )
        self._skip_reasons.append(reason)
        self._state = InProgress(
            processed=state.processed, total=state.total, skipped=state.skipped + 1
        )

    @_locked
    def pause(self, reason: str) -> None:
        """InProgress -> Paused, keeping the counts."""
        check_str(reason, "reason")
        state = self._state
        if not isinstance(state, InProgress):
            raise self._refuse("Paused")
        self._state = Paused(state.processed, state.total, state.skipped, reason)

    @_locked
    def resume(self) -> None:
        """Paused or Failed -> InProgress, keeping the counts and the original start time."""
        state = self._state
        if not isinstance(state, (Paused, Failed)):
            raise self._refuse("InProgress (resume)")
        self._state = InProgress(state.processed, state.total, state.skipped)
        if self._started_at is None:
            self._started_at = self._clock()

    @_locked
    def fail(self, error: str) -> None:
        """InProgress -> Failed, keeping the counts; `resume()` may continue later."""
        check_str(error, "error")
        state = self._state
        if not isinstance(state, InProgress):
            raise self._refuse("Failed")
        self._state = Failed(state.processed, state.total, state.skipped, error)

    @_locked
    def cancel(self) -> None:
        """Any state but Completed and Cancelled -> Cancelled, keeping the counts.

        From Planned the total is the plan's `total_embeddings`.
        """
        state = self._state
        if state.is_terminal:
            raise self._refuse("Cancelled")
        total = self._plan.total_embeddings if isinstance(state, Planned) else state.total
        self._state = Cancelled(state.processed, total, state.skipped)

    # -- reporting ------------------------------------------------------------------------

    def _elapsed(self) -> float:
        """Seconds since `start()`, never negative (like Rust's `Instant::elapsed`)."""
        if self._started_at is None:
            return 0.0
        return max(self._clock() - self._started_at, 0.0)

    @_locked
    def progress(self) -> MigrationProgress:
        """A snapshot now: the state, skip accounting, throughput, ETA and error count."""
        state = self._state
        throughput = 0.0
        eta_secs: float | None = None
        if isinstance(state, InProgress) and self._started_at is not None:
            elapsed = self._elapsed()
            if elapsed > 0.0:
                throughput = state.processed / elapsed
            if throughput > 0.0:
                remaining = max(state.effective_total - state.processed, 0)
                eta_secs = remaining / throughput
        return MigrationProgress(
            migration_id=self._plan.id,
            state=state,
            skipped=state.skipped,
            effective_total=state.effective_total,
            effective_coverage=state.effective_coverage,
            throughput=throughput,
            eta_secs=eta_secs,
            error_count=self._error_count,
        )
