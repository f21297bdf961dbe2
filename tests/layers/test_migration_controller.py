"""The migration state machine: every operation from every state, the accounting rules
(completion at total - skipped, overshoot, the 0.4.0 skip cap), timing on a fake clock,
and the original crate's own test cases."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import pytest

from lattice_embed.migration import (
    Cancelled,
    Completed,
    ContentDeleted,
    Failed,
    InProgress,
    MigrationController,
    MigrationError,
    MigrationPlan,
    MigrationState,
    Paused,
    Planned,
    SkipReason,
)

from .helpers import FakeClock, make_plan

# -- every operation from every state -------------------------------------------------------
#
# The controller is brought to each state from a plan of 10 with 3 processed and 1 skipped;
# completion takes 4 seconds on the fake clock.


def controller_in(state: str, clock: FakeClock) -> MigrationController:
    ctrl = MigrationController(make_plan(total=10), clock=clock)
    if state == "planned":
        return ctrl
    ctrl.start()
    ctrl.record_progress(3)
    ctrl.record_skip(SkipReason.content_deleted())
    if state == "paused":
        ctrl.pause("maintenance")
    elif state == "failed":
        ctrl.fail("disk full")
    elif state == "completed":
        clock.advance(4)
        ctrl.record_progress(6)
    elif state == "cancelled":
        ctrl.cancel()
    return ctrl


STATES = ["planned", "in_progress", "paused", "failed", "completed", "cancelled"]

DEBUG = {
    "planned": "Planned",
    "in_progress": "InProgress { processed: 3, total: 10, skipped: 1 }",
    "paused": 'Paused { processed: 3, total: 10, skipped: 1, reason: "maintenance" }',
    "failed": 'Failed { processed: 3, total: 10, skipped: 1, error: "disk full" }',
    "completed": "Completed { processed: 9, skipped: 1, duration_secs: 4.0 }",
    "cancelled": "Cancelled { processed: 3, total: 10, skipped: 1 }",
}

Operation = Callable[[MigrationController], None]
OPERATIONS: dict[str, tuple[Operation, str]] = {
    # name: (call, the `to` of the error it raises where it is illegal)
    "start": (lambda c: c.start(), "InProgress"),
    "record_progress": (lambda c: c.record_progress(1), "InProgress (progress)"),
    "record_skip": (lambda c: c.record_skip(SkipReason.manual_skip("x")), "InProgress (skip)"),
    "pause": (lambda c: c.pause("p"), "Paused"),
    "resume": (lambda c: c.resume(), "InProgress (resume)"),
    "fail": (lambda c: c.fail("f"), "Failed"),
    "cancel": (lambda c: c.cancel(), "Cancelled"),
}

# (operation, from state) -> state afterwards; every pair not listed is illegal.
LEGAL: dict[tuple[str, str], MigrationState] = {
    ("start", "planned"): InProgress(0, 10, 0),
    ("record_progress", "in_progress"): InProgress(4, 10, 1),
    ("record_skip", "in_progress"): InProgress(3, 10, 2),
    ("pause", "in_progress"): Paused(3, 10, 1, "p"),
    ("resume", "paused"): InProgress(3, 10, 1),
    ("resume", "failed"): InProgress(3, 10, 1),
    ("fail", "in_progress"): Failed(3, 10, 1, "f"),
    ("cancel", "planned"): Cancelled(0, 10, 0),
    ("cancel", "in_progress"): Cancelled(3, 10, 1),
    ("cancel", "paused"): Cancelled(3, 10, 1),
    ("cancel", "failed"): Cancelled(3, 10, 1),
}

ALL_PAIRS = [(op, state) for op in OPERATIONS for state in STATES]


@pytest.mark.parametrize(
    ("operation", "state"),
    [pair for pair in ALL_PAIRS if pair in LEGAL],
    ids=[f"{op}-from-{state}" for op, state in ALL_PAIRS if (op, state) in LEGAL],
)
def test_legal_transition(operation: str, state: str, clock: FakeClock) -> None:
    ctrl = controller_in(state, clock)
    OPERATIONS[operation][0](ctrl)
    assert ctrl.state == LEGAL[operation, state]


@pytest.mark.parametrize(
    ("operation", "state"),
    [pair for pair in ALL_PAIRS if pair not in LEGAL],
    ids=[f"{op}-from-{state}" for op, state in ALL_PAIRS if (op, state) not in LEGAL],
)
def test_illegal_transition_raises_and_changes_nothing(
    operation: str, state: str, clock: FakeClock
) -> None:
    ctrl = controller_in(state, clock)
    before = (ctrl.state, ctrl.skip_reasons, ctrl.error_count)
    call, to_state = OPERATIONS[operation]
    with pytest.raises(MigrationError) as info:
        call(ctrl)
    assert info.value.from_state == DEBUG[state]
    assert info.value.to_state == to_state
    assert str(info.value) == f"invalid migration transition from {DEBUG[state]} to {to_state}"
    assert (ctrl.state, ctrl.skip_reasons, ctrl.error_count) == before


def test_the_matrix_covers_the_documented_transitions_exactly() -> None:
    legal_pairs = set(LEGAL)
    assert len(ALL_PAIRS) == 42
    assert len(legal_pairs) == 11
    assert {state for _, state in legal_pairs} == set(STATES) - {"completed", "cancelled"}


def test_record_error_is_legal_everywhere_and_changes_no_state(clock: FakeClock) -> None:
    for state in STATES:
        ctrl = controller_in(state, clock)
        before = ctrl.state
        ctrl.record_error()
        ctrl.record_error()
        assert ctrl.state == before
        assert ctrl.error_count == 2
        assert ctrl.progress().error_count == 2


# -- completion, overshoot and skips --------------------------------------------------------


def started(total: int = 1000, clock: FakeClock | None = None) -> MigrationController:
    ctrl = MigrationController(make_plan(total=total), clock=clock or FakeClock())
    ctrl.start()
    return ctrl


def test_completes_exactly_at_total_minus_skipped() -> None:
    ctrl = started(total=10)
    ctrl.record_skip(ContentDeleted())
    ctrl.record_skip(ContentDeleted())
    ctrl.record_progress(7)
    assert ctrl.state == InProgress(7, 10, 2)  # one short of 10 - 2
    ctrl.record_progress(1)
    assert isinstance(ctrl.state, Completed)
    assert (ctrl.state.processed, ctrl.state.skipped) == (8, 2)


def test_overshoot_is_kept_as_reported() -> None:
    ctrl = started(total=1000)
    ctrl.record_progress(1500)
    assert ctrl.state.is_terminal
    assert ctrl.state.processed == 1500
    assert ctrl.state.progress == 1.0


def test_skip_never_completes_by_itself_and_progress_zero_does() -> None:
    ctrl = started(total=2)
    ctrl.record_skip(ContentDeleted())
    ctrl.record_skip(ContentDeleted())
    assert ctrl.state == InProgress(0, 2, 2)
    assert ctrl.effective_coverage == 1.0
    assert ctrl.state.effective_total == 0
    ctrl.record_progress(0)
    assert isinstance(ctrl.state, Completed)
    assert (ctrl.state.processed, ctrl.state.skipped) == (0, 2)


def test_skip_is_rejected_once_processed_plus_skipped_reaches_total() -> None:
    ctrl = started(total=2)
    ctrl.record_skip(ContentDeleted())
    ctrl.record_skip(ContentDeleted())
    with pytest.raises(MigrationError) as info:
        ctrl.record_skip(ContentDeleted())
    assert str(info.value) == (
        "invalid migration transition from InProgress { processed: 0, total: 2, skipped: 2 } "
        "to InProgress (skip rejected: processed + skipped would exceed total (2))"
    )
    assert ctrl.state.skipped == 2
    assert len(ctrl.skip_reasons) == 2


def test_skip_cap_counts_processed_items_too() -> None:
    ctrl = started(total=3)
    ctrl.record_progress(2)
    ctrl.record_skip(SkipReason.manual_skip("last one"))  # 2 + 0 < 3: accepted
    assert ctrl.state == InProgress(2, 3, 1)  # effective total reached, still active
    with pytest.raises(MigrationError, match=r"would exceed total \(3\)"):
        ctrl.record_skip(ContentDeleted())  # 2 + 1 >= 3
    ctrl.record_progress(0)
    assert ctrl.state == Completed(2, 1, 0.0)


def test_zero_total_starts_in_progress_and_completes_on_progress_zero() -> None:
    ctrl = started(total=0)
    assert ctrl.state == InProgress(0, 0, 0)
    assert ctrl.state.progress == 1.0
    with pytest.raises(MigrationError, match="skip rejected"):
        ctrl.record_skip(ContentDeleted())
    ctrl.record_progress(0)
    assert isinstance(ctrl.state, Completed)


def test_skip_reasons_are_kept_in_order() -> None:
    ctrl = started()
    reasons = [
        SkipReason.content_too_large(50000, 8192),
        SkipReason.invalid_encoding("binary"),
        SkipReason.permanent_api_error("503"),
    ]
    for reason in reasons:
        ctrl.record_skip(reason)
    assert ctrl.skip_reasons == tuple(reasons)
    assert ctrl.state.skipped == 3


def test_counts_survive_pause_fail_resume_and_cancel() -> None:
    ctrl = started()
    ctrl.record_progress(100)
    ctrl.record_skip(SkipReason.content_too_large(10000, 8192))
    ctrl.record_skip(SkipReason.invalid_encoding("binary"))
    ctrl.pause("break")
    assert ctrl.state == Paused(100, 1000, 2, "break")
    ctrl.resume()
    ctrl.fail("network error")
    assert ctrl.state == Failed(100, 1000, 2, "network error")
    ctrl.resume()
    assert ctrl.state == InProgress(100, 1000, 2)
    ctrl.cancel()
    assert ctrl.state == Cancelled(100, 1000, 2)


def test_cancel_from_planned_uses_the_plans_total() -> None:
    ctrl = MigrationController(make_plan(total=77))
    ctrl.cancel()
    assert ctrl.state == Cancelled(0, 77, 0)


# -- timing on a fake clock -------------------------------------------------------------


def test_progress_snapshot_reports_throughput_and_eta(clock: FakeClock) -> None:
    ctrl = started(total=1000, clock=clock)
    for _ in range(50):
        ctrl.record_skip(ContentDeleted())
    clock.advance(5)
    ctrl.record_progress(200)
    ctrl.record_error()
    report = ctrl.progress()
    assert report.migration_id == "test-migration-001"
    assert report.state == InProgress(200, 1000, 50)
    assert report.skipped == 50
    assert report.effective_total == 950
    assert report.effective_coverage == 200 / 950
    assert report.throughput == 40.0
    assert report.eta_secs == (950 - 200) / 40.0
    assert report.error_count == 1


def test_no_throughput_before_time_passes_or_outside_in_progress(clock: FakeClock) -> None:
    ctrl = MigrationController(make_plan(), clock=clock)
    assert (ctrl.progress().throughput, ctrl.progress().eta_secs) == (0.0, None)
    ctrl.start()
    ctrl.record_progress(10)
    assert (ctrl.progress().throughput, ctrl.progress().eta_secs) == (0.0, None)  # 0 s elapsed
    clock.advance(2)
    assert ctrl.progress().throughput == 5.0
    ctrl.pause("stop")
    assert (ctrl.progress().throughput, ctrl.progress().eta_secs) == (0.0, None)


def test_no_eta_while_nothing_is_processed(clock: FakeClock) -> None:
    ctrl = started(clock=clock)
    clock.advance(10)
    assert (ctrl.progress().throughput, ctrl.progress().eta_secs) == (0.0, None)


def test_timer_keeps_running_through_pauses(clock: FakeClock) -> None:
    ctrl = started(total=10, clock=clock)
    ctrl.record_progress(4)
    clock.advance(2)
    ctrl.pause("lunch")
    clock.advance(8)
    ctrl.resume()
    assert ctrl.progress().throughput == 4 / 10
    ctrl.record_progress(6)
    assert ctrl.state == Completed(10, 0, 10.0)


def test_duration_is_never_negative_if_the_clock_steps_back(clock: FakeClock) -> None:
    ctrl = started(total=1, clock=clock)
    clock.advance(-5)
    ctrl.record_progress(1)
    assert ctrl.state == Completed(1, 0, 0.0)


def test_controller_uses_monotonic_time_by_default() -> None:
    ctrl = MigrationController(make_plan(total=1))
    ctrl.start()
    ctrl.record_progress(1)
    assert isinstance(ctrl.state, Completed)
    assert ctrl.state.duration_secs >= 0.0


# -- arguments --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda c: c.record_progress(-1), ValueError, "newly_processed"),
        (lambda c: c.record_progress(1.0), TypeError, "newly_processed"),
        (lambda c: c.record_progress(True), TypeError, "newly_processed"),
        (lambda c: c.record_skip("deleted"), TypeError, "reason must be a SkipReason"),
        (lambda c: c.pause(None), TypeError, "reason must be a string"),
        (lambda c: c.fail(42), TypeError, "error must be a string"),
    ],
)
def test_bad_arguments_are_refused_before_any_change(
    call: Callable[[MigrationController], Any], error: type[Exception], match: str
) -> None:
    ctrl = started()
    with pytest.raises(error, match=match):
        call(ctrl)
    assert ctrl.state == InProgress(0, 1000, 0)


def test_controller_needs_a_plan() -> None:
    with pytest.raises(TypeError, match="plan must be a MigrationPlan"):
        MigrationController({"id": "x"})  # type: ignore[arg-type]


def test_accessors(plan: MigrationPlan) -> None:
    ctrl = MigrationController(plan)
    assert ctrl.plan is plan
    assert ctrl.state == Planned()
    assert ctrl.skip_reasons == ()
    assert ctrl.error_count == 0
    assert "test-migration-001" in repr(ctrl)


# -- MigrationError -----------------------------------------------------------------------


def test_migration_error_message_attributes_and_pickling() -> None:
    error = MigrationError("Planned", "Paused")
    assert str(error) == "invalid migration transition from Planned to Paused"
    assert (error.from_state, error.to_state) == ("Planned", "Paused")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.from_state, copy.to_state, str(copy)) == ("Planned", "Paused", str(error))


# -- the original crate's tests, ported -------------------------------------------------


def test_full_lifecycle(plan: MigrationPlan) -> None:
    ctrl = MigrationController(plan)
    assert ctrl.state == Planned()
    assert ctrl.state.progress == 0.0
    assert not ctrl.state.is_terminal and not ctrl.state.is_active
    ctrl.start()
    assert ctrl.state.is_active
    ctrl.record_progress(200)
    ctrl.record_error()
    ctrl.pause("maintenance window")
    assert ctrl.state.is_resumable
    ctrl.resume()
    assert ctrl.state.processed == 200
    ctrl.record_progress(800)
    assert ctrl.state.is_terminal
    assert ctrl.state.progress == 1.0
    assert ctrl.progress().error_count == 1


def test_lifecycle_with_skips(plan: MigrationPlan) -> None:
    ctrl = MigrationController(plan)
    ctrl.start()
    ctrl.record_progress(300)
    ctrl.record_skip(SkipReason.content_too_large(20000, 8192))
    ctrl.record_skip(SkipReason.content_deleted())
    ctrl.record_progress(200)
    assert (ctrl.state.processed, ctrl.state.skipped, len(ctrl.skip_reasons)) == (500, 2, 2)
    ctrl.pause("maintenance")
    ctrl.resume()
    ctrl.record_progress(496)
    assert not ctrl.state.is_terminal
    ctrl.record_progress(2)
    assert ctrl.state.is_terminal
    assert ctrl.state.skipped == 2


def test_effective_coverage_calculation(plan: MigrationPlan) -> None:
    ctrl = MigrationController(plan)
    ctrl.start()
    for _ in range(100):
        ctrl.record_skip(ContentDeleted())
    ctrl.record_progress(450)
    assert ctrl.effective_coverage == 0.5
    assert ctrl.state.effective_total == 900
