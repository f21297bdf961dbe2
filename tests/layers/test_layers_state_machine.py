"""Random sequences of every operation, legal or not, on a MigrationController and on a
BackfillCoordinator, checked after each step against a small reference model.

The reference is written from the spec's tables, not from the code under test: a set of
allowed phases per operation, plain integer counters, and the seed's routing tables as
dictionaries. It only ever uses ASCII pause/failure texts, so its Rust `{:?}` rendering is
a plain f-string (escaping has its own tests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from lattice_embed import EmbeddingModel
from lattice_embed.backfill import BackfillConfig, BackfillCoordinator
from lattice_embed.migration import (
    MigrationController,
    MigrationError,
    MigrationPlan,
    MigrationState,
    SkipReason,
)

SOURCE = EmbeddingModel.ALL_MINILM_L6_V2
TARGET = EmbeddingModel.QWEN3_EMBEDDING_0_6B
PLAN_ID = "mig-state-machine"

# Which phases each operation is allowed from (the spec's transition diagram).
ALLOWED = {
    "start": {"planned"},
    "progress": {"in_progress"},
    "skip": {"in_progress"},
    "pause": {"in_progress"},
    "resume": {"paused", "failed"},
    "fail": {"in_progress"},
    "cancel": {"planned", "in_progress", "paused", "failed"},
}
# The `to` of the error each operation raises where it is not allowed.
REFUSED_AS = {
    "start": "InProgress",
    "progress": "InProgress (progress)",
    "skip": "InProgress (skip)",
    "pause": "Paused",
    "resume": "InProgress (resume)",
    "fail": "Failed",
    "cancel": "Cancelled",
}
CLASS_NAMES = {
    "planned": "Planned",
    "in_progress": "InProgress",
    "paused": "Paused",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


@dataclass
class Reference:
    """The expected migration, as plain numbers."""

    planned_total: int
    phase: str = "planned"
    processed: int = 0
    total: int = 0
    skipped: int = 0
    note: str = ""  # the pause reason or the failure message
    duration: float = 0.0
    started_at: float | None = None
    errors: int = 0
    reasons: list[SkipReason] = field(default_factory=list)

    def debug(self) -> str:
        counts = f"processed: {self.processed}, total: {self.total}, skipped: {self.skipped}"
        return {
            "planned": "Planned",
            "in_progress": f"InProgress {{ {counts} }}",
            "paused": f'Paused {{ {counts}, reason: "{self.note}" }}',
            "failed": f'Failed {{ {counts}, error: "{self.note}" }}',
            "cancelled": f"Cancelled {{ {counts} }}",
            "completed": (
                f"Completed {{ processed: {self.processed}, skipped: {self.skipped}, "
                f"duration_secs: {self.duration!r} }}"
            ),
        }[self.phase]

    def apply(self, operation: str, now: float, argument: object = None) -> tuple[str, str] | None:
        """Do `operation`; return the (from, to) of the expected error instead if refused."""
        if self.phase not in ALLOWED[operation]:
            return self.debug(), REFUSED_AS[operation]
        if operation == "skip" and self.processed + self.skipped >= self.total:
            return self.debug(), (
                f"InProgress (skip rejected: processed + skipped would exceed total ({self.total}))"
            )
        if operation == "start":
            self.phase, self.processed, self.total, self.skipped = (
                "in_progress", 0, self.planned_total, 0,
            )  # fmt: skip
            self.started_at = now
        elif operation == "progress":
            assert isinstance(argument, int)
            self.processed += argument
            if self.processed >= max(self.total - self.skipped, 0):
                assert self.started_at is not None
                self.phase, self.total = "completed", 0  # Completed keeps no total
                self.duration = max(now - self.started_at, 0.0)
        elif operation == "skip":
            assert isinstance(argument, SkipReason)
            self.skipped += 1
            self.reasons.append(argument)
        elif operation in ("pause", "fail"):
            assert isinstance(argument, str)
            self.phase = "paused" if operation == "pause" else "failed"
            self.note = argument
        elif operation == "resume":
            self.phase = "in_progress"
            if self.started_at is None:
                self.started_at = now
        elif operation == "cancel":
            if self.phase == "planned":
                self.total = self.planned_total
            self.phase = "cancelled"
        return None

    def effective_total(self) -> int:
        return max(self.total - self.skipped, 0)


def snapshot(state: MigrationState) -> tuple[object, ...]:
    """The parts of a state the reference tracks."""
    note = getattr(state, "reason", getattr(state, "error", ""))
    duration = getattr(state, "duration_secs", 0.0)
    return type(state).__name__, state.processed, state.total, state.skipped, note, duration


def expected_snapshot(ref: Reference) -> tuple[object, ...]:
    note = ref.note if ref.phase in ("paused", "failed") else ""
    duration = ref.duration if ref.phase == "completed" else 0.0
    return CLASS_NAMES[ref.phase], ref.processed, ref.total, ref.skipped, note, duration


class ManualClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


SKIP_REASONS = st.sampled_from(
    [
        SkipReason.content_deleted(),
        SkipReason.content_too_large(9000, 8192),
        SkipReason.invalid_encoding("latin1"),
        SkipReason.permanent_api_error("400"),
        SkipReason.manual_skip("duplicate"),
    ]
)
# Whole and half seconds, so the rollback window's end is hit exactly.
CLOCK_STEPS = st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0])
# Small totals and batches, so runs often complete and progress often equals a threshold.
TOTALS = st.integers(0, 8)
COUNTS = st.integers(0, 4)
# Every fraction n/d with d <= 8 (equal ratios give equal floats), or any float in [0, 1].
THRESHOLDS = st.sampled_from(
    sorted({n / d for d in range(1, 9) for n in range(d + 1)})
) | st.floats(0.0, 1.0)


def plan_of(total: int) -> MigrationPlan:
    return MigrationPlan(PLAN_ID, SOURCE, TARGET, total, 10, "2026-01-27T00:00:00Z")


class LifecycleRules(RuleBasedStateMachine):
    """Rules both machines share; each subclass builds `subject` in its `initialize` and adds
    its own way of recording work (`record_progress` or `record_batch`)."""

    subject: MigrationController | BackfillCoordinator
    ref: Reference
    clock: ManualClock

    def expect(self, operation: str, call: Callable[[], None], argument: object = None) -> None:
        refusal = self.ref.apply(operation, self.clock.now, argument)
        if refusal is None:
            call()
        else:
            with pytest.raises(MigrationError) as info:
                call()
            assert (info.value.from_state, info.value.to_state) == refusal

    @rule()
    def start(self) -> None:
        self.expect("start", self.subject.start)

    @rule(reason=SKIP_REASONS)
    def record_skip(self, reason: SkipReason) -> None:
        self.expect("skip", lambda: self.subject.record_skip(reason), reason)

    @rule()
    def record_error(self) -> None:
        self.subject.record_error()
        self.ref.errors += 1

    @rule(reason=st.sampled_from(["maintenance", "quota"]))
    def pause(self, reason: str) -> None:
        self.expect("pause", lambda: self.subject.pause(reason), reason)

    @rule()
    def resume(self) -> None:
        self.expect("resume", self.subject.resume)

    @rule(error=st.sampled_from(["disk full", "timeout"]))
    def fail(self, error: str) -> None:
        self.expect("fail", lambda: self.subject.fail(error), error)

    @rule(really=st.sampled_from([True, False, False, False]))
    def cancel(self, really: bool) -> None:
        # Cancelling ends a run, so only one draw in four does it: runs live longer.
        if really:
            self.expect("cancel", self.subject.cancel)

    def start_now(self, started: bool) -> None:
        """Begin half the runs already started, to spend more steps on the migration."""
        if started:
            self.start()

    @rule(seconds=CLOCK_STEPS)
    def let_time_pass(self, seconds: float) -> None:
        self.clock.now += seconds

    @invariant()
    def state_matches_the_reference(self) -> None:
        assert snapshot(self.subject.state) == expected_snapshot(self.ref)

    @invariant()
    def progress_snapshot_matches_the_reference(self) -> None:
        ref, report = self.ref, self.subject.progress()
        throughput = 0.0
        if ref.phase == "in_progress" and ref.started_at is not None:
            elapsed = max(self.clock.now - ref.started_at, 0.0)
            throughput = ref.processed / elapsed if elapsed > 0 else 0.0
        remaining = max(ref.total - ref.skipped - ref.processed, 0)
        assert report.migration_id == PLAN_ID
        assert report.throughput == throughput
        assert report.eta_secs == (remaining / throughput if throughput > 0 else None)
        assert report.error_count == ref.errors
        assert report.skipped == ref.skipped
        assert report.effective_total == ref.effective_total()
        effective_total = ref.effective_total()
        coverage = 1.0 if effective_total == 0 else ref.processed / effective_total
        assert report.effective_coverage == coverage


class ControllerMachine(LifecycleRules):
    @initialize(total=TOTALS, started=st.booleans())
    def create(self, total: int, started: bool) -> None:
        self.clock = ManualClock()
        self.ref = Reference(planned_total=total)
        self.controller = MigrationController(plan_of(total), clock=self.clock)
        self.subject = self.controller
        self.start_now(started)

    @rule(count=COUNTS)
    def record_progress(self, count: int) -> None:
        self.expect("progress", lambda: self.controller.record_progress(count), count)

    @rule()
    def record_the_rest(self) -> None:
        """Report all remaining work at once, so that runs often complete."""
        self.record_progress(max(self.ref.total - self.ref.skipped - self.ref.processed, 0))

    @invariant()
    def skip_reasons_match(self) -> None:
        assert self.controller.skip_reasons == tuple(self.ref.reasons)
        assert self.controller.error_count == self.ref.errors


# -- the coordinator: the seed's routing tables, as data ------------------------------------

# phase -> (new document, existing document); "dual?" is DUAL_WRITE with dual_write on,
# LEGACY with it off.
REQUEST_ROUTES = {
    "planned": ("legacy", "legacy"),
    "in_progress": ("dual?", "legacy"),
    "paused": ("legacy", "legacy"),
    "completed": ("target", "target"),
    "failed": ("legacy", "legacy"),
    "cancelled": ("legacy", "legacy"),
}


class CoordinatorMachine(LifecycleRules):
    @initialize(
        total=TOTALS,
        batch_size=st.integers(1, 5),
        dual_write=st.booleans(),
        threshold=THRESHOLDS,
        window=st.integers(0, 5),
        started=st.booleans(),
    )
    def create(
        self,
        total: int,
        batch_size: int,
        dual_write: bool,
        threshold: float,
        window: int,
        started: bool,
    ) -> None:
        self.clock = ManualClock()
        self.ref = Reference(planned_total=total)
        self.config = BackfillConfig(
            batch_size=batch_size,
            dual_write=dual_write,
            target_query_threshold=threshold,
            rollback_window_secs=window,
        )
        self.coordinator = BackfillCoordinator(plan_of(total), self.config, clock=self.clock)
        self.subject = self.coordinator
        self.backfilled = 0
        self.cutover_at: float | None = None
        self.start_now(started)

    @rule(count=COUNTS)
    def record_batch(self, count: int) -> None:
        self.record(count)

    @rule()
    def record_next_batch(self) -> None:
        """Do what a backfill loop does: take `next_batch_size()` items."""
        self.record(self.coordinator.next_batch_size())

    def record(self, count: int) -> None:
        was_in_progress = self.ref.phase == "in_progress"
        self.backfilled += count  # counted even when refused, as in the original
        self.expect("progress", lambda: self.coordinator.record_batch(count), count)
        if was_in_progress and self.ref.phase == "completed":
            self.cutover_at = self.clock.now

    def window_open(self) -> bool:
        if self.cutover_at is None:
            return False
        return max(self.clock.now - self.cutover_at, 0.0) < self.config.rollback_window_secs

    @invariant()
    def request_routes_follow_the_table(self) -> None:
        new_doc, existing_doc = REQUEST_ROUTES[self.ref.phase]
        if new_doc == "dual?":
            new_doc = "dual_write" if self.config.dual_write else "legacy"
        assert self.coordinator.route_request(is_new_document=True).value == new_doc
        assert self.coordinator.route_request(is_new_document=False).value == existing_doc

    @invariant()
    def query_route_follows_raw_progress(self) -> None:
        ref = self.ref
        expected = "legacy"
        if ref.phase == "completed":
            expected = "target"
        elif ref.phase == "in_progress":
            progress = 1.0 if ref.total == 0 else ref.processed / ref.total
            if progress >= self.config.target_query_threshold:
                expected = "target"
        assert self.coordinator.route_query().value == expected

    @invariant()
    def routing_config_follows_the_table(self) -> None:
        source_only = (SOURCE, (SOURCE,), "stable", None)
        table = {
            "planned": source_only,
            "in_progress": (
                SOURCE,
                (SOURCE, TARGET) if self.config.dual_write else (SOURCE,),
                "migrating",
                PLAN_ID,
            ),
            "completed": (
                (TARGET, (SOURCE, TARGET), "rollback_window", PLAN_ID)
                if self.window_open()
                else (TARGET, (TARGET,), "stable", None)
            ),
            "paused": source_only,
            "failed": source_only,
            "cancelled": source_only,
        }
        config = self.coordinator.routing_config()
        actual = (config.query_model, config.write_models, config.phase.value, config.migration_id)
        assert actual == table[self.ref.phase]
        assert self.coordinator.in_rollback_window is self.window_open()

    @invariant()
    def batch_size_and_count_follow_the_reference(self) -> None:
        ref = self.ref
        expected = 0
        if ref.phase == "in_progress":
            expected = min(max(ref.total - ref.processed - ref.skipped, 0), self.config.batch_size)
        assert self.coordinator.next_batch_size() == expected
        assert self.coordinator.backfilled_count == self.backfilled


MACHINE_SETTINGS = settings(max_examples=600, stateful_step_count=25, deadline=None)

TestControllerAgainstReference = ControllerMachine.TestCase
TestControllerAgainstReference.settings = MACHINE_SETTINGS
TestCoordinatorAgainstReference = CoordinatorMachine.TestCase
TestCoordinatorAgainstReference.settings = MACHINE_SETTINGS
