"""The backfill coordinator: the seed's routing tables for every state with dual-write on
and off, query thresholds, batch sizing net of skips, and the rollback window on a fake
clock (open, closed, and exactly at the boundary)."""

from __future__ import annotations

from typing import Any

import pytest

from lattice_embed import EmbeddingModel
from lattice_embed.backfill import (
    BackfillConfig,
    BackfillCoordinator,
    EmbeddingRoute,
    EmbeddingRoutingConfig,
    RoutingPhase,
)
from lattice_embed.migration import (
    Cancelled,
    Completed,
    ContentDeleted,
    Failed,
    InProgress,
    MigrationError,
    MigrationPlan,
    Paused,
    Planned,
    SkipReason,
)

from .helpers import FakeClock, make_plan

SOURCE = EmbeddingModel.BGE_SMALL_EN_V15
TARGET = EmbeddingModel.BGE_BASE_EN_V15
PLAN_ID = "test-migration-001"
LEGACY, TARGET_ROUTE, DUAL = EmbeddingRoute.LEGACY, EmbeddingRoute.TARGET, EmbeddingRoute.DUAL_WRITE
STABLE, MIGRATING, WINDOW = (
    RoutingPhase.STABLE,
    RoutingPhase.MIGRATING,
    RoutingPhase.ROLLBACK_WINDOW,
)


def coordinator_in(
    state: str, clock: FakeClock, *, dual_write: bool = True, window: int = 3600
) -> BackfillCoordinator:
    """A coordinator over 1000 items brought to `state`; InProgress sits at 30%."""
    config = BackfillConfig(dual_write=dual_write, rollback_window_secs=window)
    coord = BackfillCoordinator(make_plan(total=1000), config, clock=clock)
    if state == "planned":
        return coord
    coord.start()
    coord.record_batch(300)
    if state == "paused":
        coord.pause("maintenance")
    elif state == "failed":
        coord.fail("embedding API down")
    elif state == "cancelled":
        coord.cancel()
    elif state in ("completed_in_window", "completed_after_window"):
        coord.record_batch(700)
        if state == "completed_after_window":
            clock.advance(window)
    return coord


# state, new-document route, existing-document route, query route,
# routing_config (query model, write models, phase, migration id), next batch size
ROUTING_WITH_DUAL_WRITE = [
    ("planned", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("in_progress", DUAL, LEGACY, LEGACY, (SOURCE, (SOURCE, TARGET), MIGRATING, PLAN_ID), 100),
    ("paused", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("failed", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("cancelled", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("completed_in_window", TARGET_ROUTE, TARGET_ROUTE, TARGET_ROUTE,
     (TARGET, (SOURCE, TARGET), WINDOW, PLAN_ID), 0),
    ("completed_after_window", TARGET_ROUTE, TARGET_ROUTE, TARGET_ROUTE,
     (TARGET, (TARGET,), STABLE, None), 0),
]  # fmt: skip

# Without dual-write only the active migration differs: new documents and writes stay on
# the source. The rollback window still writes both models: the seed ignores dual_write there.
ROUTING_WITHOUT_DUAL_WRITE = [
    ("planned", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("in_progress", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), MIGRATING, PLAN_ID), 100),
    ("paused", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("failed", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("cancelled", LEGACY, LEGACY, LEGACY, (SOURCE, (SOURCE,), STABLE, None), 0),
    ("completed_in_window", TARGET_ROUTE, TARGET_ROUTE, TARGET_ROUTE,
     (TARGET, (SOURCE, TARGET), WINDOW, PLAN_ID), 0),
    ("completed_after_window", TARGET_ROUTE, TARGET_ROUTE, TARGET_ROUTE,
     (TARGET, (TARGET,), STABLE, None), 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("dual_write", "row"),
    [(True, row) for row in ROUTING_WITH_DUAL_WRITE]
    + [(False, row) for row in ROUTING_WITHOUT_DUAL_WRITE],
    ids=[f"dual_write-{row[0]}" for row in ROUTING_WITH_DUAL_WRITE]
    + [f"single_write-{row[0]}" for row in ROUTING_WITHOUT_DUAL_WRITE],
)
def test_routing_table(dual_write: bool, row: tuple[Any, ...], clock: FakeClock) -> None:
    state, new_doc, existing_doc, query, (query_model, writes, phase, migration_id), batch = row
    coord = coordinator_in(state, clock, dual_write=dual_write)
    assert coord.route_request(is_new_document=True) is new_doc
    assert coord.route_request(is_new_document=False) is existing_doc
    assert coord.route_query() is query
    assert coord.routing_config() == EmbeddingRoutingConfig(
        query_model, writes, phase, migration_id
    )
    assert coord.next_batch_size() == batch


# -- query threshold ------------------------------------------------------------------------


def started(
    total: int = 1000, clock: FakeClock | None = None, **config: Any
) -> BackfillCoordinator:
    coord = BackfillCoordinator(
        make_plan(total=total), BackfillConfig(**config), clock=clock or FakeClock()
    )
    coord.start()
    return coord


@pytest.mark.parametrize(
    ("threshold", "processed", "route"),
    [
        (0.8, 799, LEGACY),
        (0.8, 800, TARGET_ROUTE),  # exactly at the threshold
        (0.8, 801, TARGET_ROUTE),
        (0.5, 500, TARGET_ROUTE),
        (0.7, 700, TARGET_ROUTE),  # 700 / 1000 == 0.7 in floating point too
        (0.0, 0, TARGET_ROUTE),  # a zero threshold routes to the target from the start
        (1.0, 999, LEGACY),
    ],
)
def test_query_switches_to_target_at_the_threshold(
    threshold: float, processed: int, route: EmbeddingRoute
) -> None:
    coord = started(target_query_threshold=threshold)
    coord.record_batch(processed)
    assert coord.route_query() is route


@pytest.mark.parametrize("threshold", [0.0, 0.8, 1.0])
def test_zero_total_routes_queries_to_target_right_after_start(threshold: float) -> None:
    coord = started(total=0, target_query_threshold=threshold)
    assert coord.state == InProgress(0, 0, 0)
    assert coord.route_query() is TARGET_ROUTE
    assert coord.next_batch_size() == 0
    coord.record_batch(0)
    assert isinstance(coord.state, Completed)


def test_query_threshold_uses_raw_progress_not_coverage_net_of_skips() -> None:
    coord = started(total=10)
    coord.record_skip(ContentDeleted())
    coord.record_skip(ContentDeleted())
    coord.record_batch(7)
    assert coord.state.effective_coverage == 7 / 8  # 0.875, above 0.8
    assert coord.route_query() is LEGACY  # but 7 / 10 is below it


def test_query_goes_back_to_legacy_when_paused_or_failed() -> None:
    coord = started()
    coord.record_batch(900)
    assert coord.route_query() is TARGET_ROUTE
    coord.pause("stop")
    assert coord.route_query() is LEGACY
    coord.resume()
    coord.fail("boom")
    assert coord.route_query() is LEGACY


# -- batch sizing ---------------------------------------------------------------------------


def test_next_batch_size_is_the_smaller_of_batch_size_and_what_remains() -> None:
    coord = started()
    assert coord.next_batch_size() == 100
    coord.record_batch(950)
    assert coord.next_batch_size() == 50


def test_next_batch_size_is_net_of_skips() -> None:
    plan = MigrationPlan("batch-skipped", SOURCE, TARGET, 10, 100, "2026-01-27T00:00:00Z")
    coord = BackfillCoordinator(plan, BackfillConfig(batch_size=50))
    coord.start()
    for _ in range(3):
        coord.record_skip(ContentDeleted())
    assert coord.next_batch_size() == 7
    coord.record_batch(7)
    assert isinstance(coord.state, Completed)
    assert coord.next_batch_size() == 0


def test_next_batch_size_is_zero_once_skips_cover_the_rest() -> None:
    coord = started(total=3)
    coord.record_batch(2)
    coord.record_skip(SkipReason.manual_skip("last"))
    assert coord.state == InProgress(2, 3, 1)
    assert coord.next_batch_size() == 0


# -- record_batch, skips, errors ------------------------------------------------------------


def test_record_batch_counts_and_advances_the_migration() -> None:
    coord = started()
    coord.record_batch(250)
    assert (coord.backfilled_count, coord.state.processed) == (250, 250)
    coord.record_batch(150)
    assert (coord.backfilled_count, coord.state.processed) == (400, 400)


def test_a_refused_batch_still_counts_as_in_the_original() -> None:
    coord = BackfillCoordinator(make_plan())
    with pytest.raises(MigrationError, match="from Planned to InProgress \\(progress\\)"):
        coord.record_batch(10)
    assert coord.backfilled_count == 10
    assert coord.state == Planned()


@pytest.mark.parametrize(
    ("count", "error"), [(-1, ValueError), (2.0, TypeError), (None, TypeError)]
)
def test_record_batch_refuses_bad_counts_without_counting(
    count: Any, error: type[Exception]
) -> None:
    coord = started()
    with pytest.raises(error, match="count"):
        coord.record_batch(count)
    assert coord.backfilled_count == 0


def test_record_skip_goes_through_the_controllers_rules() -> None:
    coord = started(total=2)
    coord.record_skip(SkipReason.content_too_large(10, 5))
    coord.record_skip(SkipReason.invalid_encoding("latin1"))
    with pytest.raises(MigrationError, match="skip rejected"):
        coord.record_skip(ContentDeleted())
    assert coord.state == InProgress(0, 2, 2)
    assert coord.backfilled_count == 0
    assert coord.progress().skipped == 2
    coord.record_batch(0)  # skips never complete by themselves
    assert isinstance(coord.state, Completed)
    assert coord.in_rollback_window


def test_errors_are_counted_in_progress() -> None:
    coord = started()
    for _ in range(3):
        coord.record_error()
    assert coord.progress().error_count == 3
    assert coord.state == InProgress(0, 1000, 0)


def test_transitions_are_the_controllers(clock: FakeClock) -> None:
    coord = BackfillCoordinator(make_plan(), clock=clock)
    with pytest.raises(MigrationError, match="from Planned to Paused"):
        coord.pause("too early")
    coord.start()
    with pytest.raises(MigrationError, match="to InProgress$"):
        coord.start()
    coord.fail("boom")
    assert coord.state == Failed(0, 1000, 0, "boom")
    coord.resume()
    coord.pause("break")
    assert coord.state == Paused(0, 1000, 0, "break")
    coord.cancel()
    assert coord.state == Cancelled(0, 1000, 0)
    with pytest.raises(MigrationError, match="to Cancelled"):
        coord.cancel()


# -- the rollback window on a fake clock ------------------------------------------------------


def completed(clock: FakeClock, window: int) -> BackfillCoordinator:
    coord = started(clock=clock, rollback_window_secs=window)
    coord.record_batch(1000)
    return coord


def test_no_rollback_window_before_completion(clock: FakeClock) -> None:
    coord = BackfillCoordinator(make_plan(), clock=clock)
    assert not coord.in_rollback_window
    coord.start()
    coord.record_batch(999)
    assert not coord.in_rollback_window


@pytest.mark.parametrize(
    ("elapsed", "open_"),
    [(0, True), (1, True), (3599.5, True), (3600, False), (3600.5, False), (86400, False)],
)
def test_rollback_window_open_then_closed(clock: FakeClock, elapsed: float, open_: bool) -> None:
    coord = completed(clock, window=3600)
    clock.advance(elapsed)
    assert coord.in_rollback_window is open_
    routing = coord.routing_config()
    if open_:
        assert routing == EmbeddingRoutingConfig(TARGET, (SOURCE, TARGET), WINDOW, PLAN_ID)
    else:
        assert routing == EmbeddingRoutingConfig(TARGET, (TARGET,), STABLE, None)
    # Request routing does not look at the window: writers use routing_config().
    assert coord.route_request(is_new_document=True) is TARGET_ROUTE


def test_zero_second_window_is_never_open(clock: FakeClock) -> None:
    coord = completed(clock, window=0)
    assert not coord.in_rollback_window
    assert coord.routing_config().phase is STABLE


def test_window_starts_at_cutover_not_at_start(clock: FakeClock) -> None:
    coord = started(clock=clock, rollback_window_secs=10)
    clock.advance(100)
    coord.record_batch(1000)
    clock.advance(9)
    assert coord.in_rollback_window
    clock.advance(1)
    assert not coord.in_rollback_window


def test_window_stays_open_if_the_clock_steps_back(clock: FakeClock) -> None:
    coord = completed(clock, window=10)
    clock.advance(-50)
    assert coord.in_rollback_window


def test_completion_duration_and_throughput_use_the_same_clock(clock: FakeClock) -> None:
    coord = started(clock=clock)
    clock.advance(10)
    coord.record_batch(50)
    assert coord.progress().throughput == 5.0
    clock.advance(90)
    coord.record_batch(950)
    assert coord.state == Completed(1000, 0, 100.0)


def test_real_clock_by_default_opens_the_default_window() -> None:
    coord = BackfillCoordinator.with_defaults(make_plan())
    coord.start()
    coord.record_batch(1000)
    assert coord.in_rollback_window  # 24 hours cannot have passed


# -- accessors and the original's tests -------------------------------------------------------


def test_accessors(plan: MigrationPlan) -> None:
    coord = BackfillCoordinator.with_defaults(plan)
    assert coord.plan is plan
    assert coord.source_model is SOURCE
    assert coord.target_model is TARGET
    assert coord.config == BackfillConfig()
    assert BackfillCoordinator(plan).config == BackfillConfig()
    assert coord.backfilled_count == 0
    assert coord.state == Planned()
    assert "test-migration-001" in repr(coord)


def test_constructor_checks_its_arguments(plan: MigrationPlan) -> None:
    with pytest.raises(TypeError, match="config must be a BackfillConfig"):
        BackfillCoordinator(plan, {"batch_size": 10})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="plan must be a MigrationPlan"):
        BackfillCoordinator("plan")  # type: ignore[arg-type]


def test_seed_example() -> None:
    plan = MigrationPlan("mig-001", SOURCE, TARGET, 1000, 100, "2026-01-27T00:00:00Z")
    coord = BackfillCoordinator.with_defaults(plan)
    assert coord.route_request(True) is LEGACY
    coord.start()
    assert coord.route_request(True) is DUAL
    assert coord.route_request(False) is LEGACY


def test_full_lifecycle(plan: MigrationPlan) -> None:
    coord = BackfillCoordinator.with_defaults(plan)
    assert (coord.route_request(True), coord.route_query(), coord.next_batch_size()) == (
        LEGACY,
        LEGACY,
        0,
    )
    coord.start()
    assert (coord.route_request(True), coord.route_query(), coord.next_batch_size()) == (
        DUAL,
        LEGACY,
        100,
    )
    for _ in range(3):
        coord.record_batch(100)
    assert (coord.backfilled_count, coord.state.processed, coord.route_query()) == (
        300,
        300,
        LEGACY,
    )
    coord.record_batch(500)
    assert (coord.route_query(), coord.route_request(True), coord.next_batch_size()) == (
        TARGET_ROUTE,
        DUAL,
        100,
    )
    coord.record_batch(200)
    assert coord.state.is_terminal
    assert (coord.route_request(True), coord.route_request(False), coord.route_query()) == (
        TARGET_ROUTE,
        TARGET_ROUTE,
        TARGET_ROUTE,
    )
    assert (coord.backfilled_count, coord.next_batch_size()) == (1000, 0)
    assert coord.routing_config().phase is WINDOW


def test_pause_resume_and_cancel_lifecycle(plan: MigrationPlan) -> None:
    coord = BackfillCoordinator.with_defaults(plan)
    coord.start()
    coord.record_batch(500)
    coord.pause("resource contention")
    assert (coord.route_request(True), coord.route_query(), coord.next_batch_size()) == (
        LEGACY,
        LEGACY,
        0,
    )
    coord.resume()
    assert coord.route_request(True) is DUAL
    assert coord.state.processed == 500
    coord.cancel()
    assert coord.state.is_terminal
    assert (coord.route_request(True), coord.route_query(), coord.backfilled_count) == (
        LEGACY,
        LEGACY,
        500,
    )
