"""A controller or coordinator held by a service is called from several threads at once: every
count must land exactly once, cutover happen once, and the objects still pickle (for worker
processes). The GIL is made to switch as often as it can, so a lost update shows."""

from __future__ import annotations

import pickle
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

from lattice_embed.backfill import BackfillCoordinator
from lattice_embed.migration import (
    Completed,
    ContentDeleted,
    InProgress,
    MigrationController,
    MigrationError,
)

from .helpers import FakeClock, make_plan

THREADS, CALLS = 4, 20_000


@pytest.fixture(autouse=True)
def switch_often() -> Iterator[None]:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def hammer(work: Callable[[int], None]) -> None:
    start = threading.Barrier(THREADS)

    def run(index: int) -> None:
        start.wait()
        work(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_record_batch_from_four_threads_counts_exactly() -> None:
    coordinator = BackfillCoordinator.with_defaults(make_plan(total=10**9))
    coordinator.start()

    def work(_: int) -> None:
        for _ in range(CALLS):
            coordinator.record_batch(1)

    hammer(work)
    assert coordinator.backfilled_count == THREADS * CALLS
    assert coordinator.state == InProgress(THREADS * CALLS, 10**9, 0)


def test_the_batch_that_completes_is_the_one_cutover() -> None:
    clock = FakeClock()
    total = THREADS * CALLS // 2
    coordinator = BackfillCoordinator.with_defaults(make_plan(total=total), clock=clock)
    coordinator.start()
    refused = [0] * THREADS

    def work(index: int) -> None:
        for _ in range(CALLS // 2):
            try:
                coordinator.record_batch(1)
            except MigrationError:
                refused[index] += 1

    hammer(work)
    assert sum(refused) == 0
    assert coordinator.state == Completed(total, 0, 0.0)
    assert coordinator.in_rollback_window
    with pytest.raises(MigrationError):
        coordinator.record_batch(1)
    assert coordinator.backfilled_count == total + 1  # a refused batch counts, as in the original


def test_controller_progress_errors_and_skips_from_four_threads() -> None:
    controller = MigrationController(make_plan(total=10**9))
    controller.start()

    def work(index: int) -> None:
        for call in range(CALLS):
            controller.record_progress(2)
            controller.record_error()
            if call % 100 == index:
                controller.record_skip(ContentDeleted())
            controller.progress()

    hammer(work)
    skips = THREADS * (CALLS // 100)
    assert controller.state == InProgress(2 * THREADS * CALLS, 10**9, skips)
    assert controller.error_count == THREADS * CALLS
    assert len(controller.skip_reasons) == skips


def test_they_still_pickle_and_keep_working() -> None:
    coordinator = BackfillCoordinator.with_defaults(make_plan(total=100))
    coordinator.start()
    coordinator.record_batch(40)
    copy = pickle.loads(pickle.dumps(coordinator))
    copy.record_batch(60)
    assert copy.state == Completed(100, 0, copy.state.duration_secs)
    assert coordinator.state == InProgress(40, 100, 0)
    controller = pickle.loads(pickle.dumps(MigrationController(make_plan())))
    controller.start()
    assert isinstance(controller.state, InProgress)
