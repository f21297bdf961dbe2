"""The engine in one process, with model-free encoders: routing, writes during a migration, the
runner's counting, retries and skips, the gate, cutover, rollback and finalize."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest

from lattice_embed.backfill import RoutingPhase
from lattice_embed.engine import (
    Engine,
    GateConfig,
    LabelledQuery,
    MigrationConflictError,
    ModelMismatchError,
    RollbackRefusedError,
)
from lattice_embed.engine.runner import BackfillRunner

from .conftest import WallClock
from .encoders import HashEncoder, factory
from .helpers import assert_counts_exact, assert_space_matches, live_documents, space_vectors

Models = tuple[HashEncoder, HashEncoder]


def corpus(n: int, prefix: str = "doc") -> dict[str, str]:
    return {f"{prefix}-{i}": f"text number {i} about topic {i % 7}" for i in range(n)}


def test_add_search_and_export(engine: Engine, models: Models) -> None:
    a, _ = models
    report = engine.add(corpus(50), model="model-a")
    assert (report.added, report.updated, report.spaces) == (50, 0, ["model-a"])
    assert engine.add({"doc-3": "replaced"}).updated == 1
    hits = engine.search("text number 7 about topic 0", k=3)
    assert hits.model == "model-a" and hits.results[0].id == "doc-7"
    assert hits.results[0].score == pytest.approx(1.0, abs=1e-6)
    assert [h.score for h in hits.results] == sorted((h.score for h in hits.results), reverse=True)
    exported = dict(engine.export())
    assert len(exported) == 50
    np.testing.assert_array_equal(exported["doc-3"], a.vector("replaced"))


def test_writes_are_checked_before_anything_is_stored(engine: Engine) -> None:
    engine.add(corpus(3), model="model-a")
    for bad, message in [([("x", 3)], "text must be a str"), ([("", "t")], "non-empty str"),
                         ([("x", "\ud800")], "not valid Unicode"),
                         ([("ok", "fine"), ("big", "x" * 40_000)], "40000 UTF-8 bytes")]:
        with pytest.raises((TypeError, ValueError), match=message):
            engine.add(bad)
    assert live_documents(engine).keys() == corpus(3).keys()


def test_a_store_keeps_its_model(engine: Engine) -> None:
    engine.add(corpus(3), model="model-a")
    with pytest.raises(MigrationConflictError, match="plan a migration"):
        engine.add({"x": "y"}, model="model-b")


def test_routing_through_a_whole_migration(engine: Engine, models: Models,
                                           clock: WallClock) -> None:
    a, b = models
    engine.add(corpus(120), model="model-a")
    route = engine.routing()
    assert route is not None and route.write_spaces == ("model-a",)
    engine.plan("model-b", batch_size=20, rollback_window_secs=3600)
    route = engine.routing()
    assert route is not None
    assert (route.query_space, route.write_spaces, route.phase) == (
        "model-a", ("model-a",), RoutingPhase.STABLE)  # planned: the port's table
    engine.run(max_batches=2, progress=False)
    route = engine.routing()
    assert route is not None
    assert (route.query_space, route.write_spaces, route.phase) == (
        "model-a", ("model-a", "model-b"), RoutingPhase.MIGRATING)
    report = engine.run(progress=False)
    assert report.outcome == "completed" and report.exit_code == 0, report.message
    route = engine.routing()
    assert route is not None
    assert (route.query_space, route.write_spaces, route.phase) == (
        "model-b", ("model-a", "model-b"), RoutingPhase.ROLLBACK_WINDOW)
    assert engine.search("text number 5 about topic 5").model == "model-b"
    clock.advance(3600)
    route = engine.routing()
    assert route is not None
    assert (route.query_space, route.write_spaces, route.phase) == (
        "model-b", ("model-b",), RoutingPhase.STABLE)
    assert_space_matches(engine, b)
    assert_space_matches(engine, a)
    assert_counts_exact(engine)


def test_updates_and_adds_during_the_backfill_are_written_to_both_spaces(
    engine: Engine, models: Models
) -> None:
    a, b = models
    engine.add(corpus(100), model="model-a")
    engine.plan("model-b", batch_size=10)
    engine.run(max_batches=3, progress=False)  # doc-0..29 backfilled
    engine.add({"doc-5": "updated after its batch", "doc-80": "updated before its batch",
                "new-1": "added during the migration"})
    assert space_vectors(engine, "model-b")["doc-5"].tolist() == b.vector(
        "updated after its batch").tolist()
    engine.run(progress=False)
    assert_space_matches(engine, a)
    assert_space_matches(engine, b)
    status = engine.status()
    assert (status.processed, status.skipped, status.total) == (100, 0, 100)


def test_a_delete_during_the_migration_never_comes_back(
    engine: Engine, models: Models, make_engine: Callable[..., Engine]
) -> None:
    a, b = models
    other = make_engine()  # another writer on the same store
    engine.add(corpus(60), model="model-a")
    engine.plan("model-b", batch_size=20)
    done = []

    def delete_in_flight(text: str) -> None:
        # While the first batch is being embedded, delete one of its documents and one of a
        # later batch.
        if not done and text == "text number 3 about topic 3":
            done.append(text)
            other.delete(["doc-3", "doc-45"])
        return None

    b.fail = delete_in_flight  # type: ignore[assignment]
    engine.run(progress=False)
    docs = live_documents(engine)
    assert "doc-3" not in docs and "doc-45" not in docs
    assert_space_matches(engine, b)
    assert_space_matches(engine, a)
    status = engine.status()
    assert (status.processed, status.skipped, status.total) == (58, 2, 60)
    skips = engine.store.transaction
    with skips() as tx:
        reasons = [skip.reason for skip in tx.skips(status.migration_id or "")]
    assert reasons == [{"content_deleted": None}] * 2 or reasons == ["content_deleted"] * 2


def test_an_update_while_its_batch_is_in_flight_keeps_the_new_text(
    engine: Engine, models: Models, make_engine: Callable[..., Engine]
) -> None:
    _, b = models
    other = make_engine()
    engine.add(corpus(40), model="model-a")
    engine.plan("model-b", batch_size=40)
    done = []

    def update_in_flight(text: str) -> None:
        if not done:  # the first text of the first batch (the update embeds with b too)
            done.append(text)
            other.add({"doc-7": "the newest text"})
        return None

    b.fail = update_in_flight  # type: ignore[assignment]
    engine.run(progress=False)
    np.testing.assert_array_equal(space_vectors(engine, "model-b")["doc-7"],
                                  b.vector("the newest text"))
    assert_space_matches(engine, b)


def test_without_dual_write_the_backfill_catches_up_before_completing(
    engine: Engine, models: Models
) -> None:
    a, b = models
    engine.add(corpus(50), model="model-a")
    engine.plan("model-b", batch_size=10, dual_write=False)
    engine.run(max_batches=2, progress=False)
    engine.add({"doc-1": "changed behind the backfill", "late": "written during the migration"})
    route = engine.routing()
    assert route is not None and route.write_spaces == ("model-a",)
    assert "doc-1" not in space_vectors(engine, "model-b")  # a stale vector is never kept
    report = engine.run(progress=False)
    assert report.outcome == "completed"
    assert_space_matches(engine, b)
    assert_space_matches(engine, a)
    assert (report.processed, report.skipped, report.total) == (50, 0, 50)


def test_writes_while_paused_are_caught_up(engine: Engine, models: Models) -> None:
    _, b = models
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b", batch_size=10)
    engine.run(max_batches=1, progress=False)
    engine.pause("maintenance")
    assert engine.run(progress=False).outcome == "paused"
    engine.add({"doc-2": "edited while paused", "p": "new while paused"})
    engine.resume()
    assert engine.run(progress=False).outcome == "completed"
    assert_space_matches(engine, b)


def test_pause_from_another_engine_stops_after_the_current_batch(
    engine: Engine, models: Models, make_engine: Callable[..., Engine]
) -> None:
    _, b = models
    other = make_engine()
    engine.add(corpus(50), model="model-a")
    engine.plan("model-b", batch_size=10)
    calls = []

    def pause_during_second_batch(text: str) -> None:
        calls.append(text)
        if len(calls) == 11:
            other.pause("operator wants the CPU back")
        return None

    b.fail = pause_during_second_batch  # type: ignore[assignment]
    report = engine.run(progress=False)
    assert report.outcome == "paused" and report.exit_code == 1
    assert "operator wants the CPU back" in report.message
    assert (report.processed, report.batches) == (10, 1)
    assert len(space_vectors(engine, "model-b")) == 20  # the batch in flight was written...
    b.fail = None
    other.resume()
    before = len(b.calls)
    report = engine.run(progress=False)
    assert (report.outcome, report.processed, report.skipped) == ("completed", 50, 0)
    assert sum(len(call) for call in b.calls[before:]) == 30  # ...and not embedded again


def test_transient_errors_are_retried_and_bad_documents_skipped(
    make_store: Callable[..., object], clock: WallClock
) -> None:
    failures = {"flaky": 2}

    def fail(text: str) -> Exception | None:
        if "poison" in text:
            return RuntimeError(f"the model cannot embed {text!r}")
        if "flaky" in text and failures["flaky"] > 0:
            failures["flaky"] -= 1
            return TimeoutError("the service timed out")
        return None

    a, b = HashEncoder("model-a", 8), HashEncoder("model-b", 8, fail=fail)
    engine = Engine(make_store(), encoders=factory(a, b), clock=clock)  # type: ignore[arg-type]
    docs = corpus(30)
    docs.update({"doc-4": "flaky text", "doc-9": "poison pill", "doc-21": "another poison"})
    engine.add(docs, model="model-a")
    engine.plan("model-b", batch_size=10)
    sleeps: list[float] = []
    report = BackfillRunner(engine, progress=False, sleep=sleeps.append).run()
    assert report.outcome == "completed"
    assert (report.processed, report.skipped) == (28, 2)
    status = engine.status()
    assert status.error_count >= 2 and len(sleeps) == status.error_count
    with engine.store.transaction() as tx:
        skips = tx.skips(status.migration_id or "")
    assert sorted(skip.doc_id or "" for skip in skips) == ["doc-21", "doc-9"]
    assert all("permanent_api_error" in skip.reason for skip in skips)
    assert "cannot embed 'poison pill'" in str(skips[0].reason) + str(skips[1].reason)
    assert set(space_vectors(engine, "model-b")) == set(docs) - {"doc-9", "doc-21"}


def test_a_model_that_fails_everything_fails_the_migration(
    make_store: Callable[..., object], clock: WallClock
) -> None:
    broken = {"on": True}
    a = HashEncoder("model-a", 8)
    b = HashEncoder("model-b", 8, fail=lambda t: RuntimeError("CUDA out of memory")
                    if broken["on"] else None)
    engine = Engine(make_store(), encoders=factory(a, b), clock=clock)  # type: ignore[arg-type]
    engine.add(corpus(20), model="model-a")
    engine.plan("model-b", batch_size=10)
    report = BackfillRunner(engine, progress=False, sleep=lambda s: None).run()
    assert report.outcome == "failed" and "CUDA out of memory" in report.message
    assert engine.status().state == "Failed" and engine.status().skipped == 0
    broken["on"] = False
    engine.resume()
    assert engine.run(progress=False).outcome == "completed"


def test_rate_limit_spaces_the_batches(engine: Engine, clock: WallClock) -> None:
    engine.add(corpus(100), model="model-a")
    engine.plan("model-b", batch_size=25)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)

    report = BackfillRunner(engine, progress=False, rate=50.0, sleep=sleep).run()
    assert report.outcome == "completed"
    assert sleeps == pytest.approx([0.5, 0.5, 0.5])  # 25 texts at 50/s after the first batch


def test_another_model_under_the_same_name_is_refused(
    engine: Engine, make_store: Callable[..., object], clock: WallClock
) -> None:
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b", batch_size=10)
    engine.run(max_batches=1, progress=False)
    impostor = HashEncoder("model-b", 24, salt="retrained weights")
    other = Engine(make_store(), encoders=factory(HashEncoder("model-a", 16), impostor),
                   clock=clock)  # type: ignore[arg-type]
    with pytest.raises(ModelMismatchError) as refused:
        other.run(progress=False)
    fingerprints = [s.fingerprint[:12] for s in (impostor.spec, engine.views(
        engine.migration())[1].spec)]  # type: ignore[arg-type]
    assert all(fp in str(refused.value) for fp in fingerprints)
    with pytest.raises(ModelMismatchError):
        other.add({"new": "text"})
    assert engine.status().processed == 10  # nothing was counted or written by the impostor


def test_the_gate_refuses_cutover_below_its_floor_unless_forced(
    engine: Engine, clock: WallClock
) -> None:
    engine.add(corpus(80), model="model-a")
    engine.plan("model-b", batch_size=40, gate=GateConfig(k=5, min_overlap=0.9))
    report = engine.run(progress=False)
    assert report.outcome == "completed" and "below the floor 0.90" in report.message
    status = engine.status()
    assert status.awaiting_cutover and status.query_model == "model-a"
    assert status.gate is not None and not status.gate.passed and status.gate.overlap is not None
    assert status.write_models == ["model-a", "model-b"]  # the complete target stays current
    with pytest.raises(MigrationConflictError, match="overlap@5 .* is below the floor 0.90"):
        engine.cutover()
    engine.cutover(force=True)
    assert engine.status().query_model == "model-b"
    kinds = [event.kind for event in engine.events()]
    assert kinds[-1] == "cutover" and kinds.count("gate") == 3
    assert "forced past the gate" in engine.events()[-1].reason


def test_labelled_queries_measure_recall_and_ndcg(engine: Engine) -> None:
    docs = corpus(60)
    engine.add(docs, model="model-a")
    labels = [LabelledQuery(docs["doc-4"], {"doc-4": 2.0, "doc-11": 1.0}),
              LabelledQuery(docs["doc-20"], {"doc-20": 1.0}),
              LabelledQuery("nothing stored", {"gone": 1.0})]
    engine.plan("model-b", batch_size=30, labels=labels, gate=GateConfig(k=3, min_recall=0.5))
    engine.run(progress=False)
    gate = engine.status().gate
    assert gate is not None and gate.passed and gate.source is not None and gate.target is not None
    # The hash models find a document by its own text: recall 1 for doc-20, 1/2 for doc-4.
    assert gate.target.queries == 2 and gate.target.recall == pytest.approx(0.75)
    assert 0.5 < gate.target.ndcg < 1.0 and gate.source.recall == pytest.approx(0.75)


def test_reads_switch_at_the_threshold_when_the_gate_passes(engine: Engine) -> None:
    engine.add(corpus(100), model="model-a")
    engine.plan("model-b", batch_size=10, threshold=0.5)
    engine.run(max_batches=4, progress=False)
    assert engine.status().query_model == "model-a"
    engine.run(max_batches=1, progress=False)
    status = engine.status()
    assert status.query_model == "model-b" and status.reads_on_target
    assert status.state == "InProgress" and status.gate is not None
    assert [e.kind for e in engine.events()][-2:] == ["gate", "reads_switched"]


def test_rollback_inside_the_window_and_refused_after(engine: Engine, models: Models,
                                                      clock: WallClock) -> None:
    a, _ = models
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b", rollback_window_secs=600)
    engine.run(progress=False)
    clock.advance(300)
    engine.add({"doc-1": "written in the window"})
    engine.rollback()
    assert engine.search("written in the window").model == "model-a"
    assert_space_matches(engine, a)  # the source was kept current in the window
    with pytest.raises(RollbackRefusedError, match="rolled back already"):
        engine.rollback()


def test_rollback_after_the_window_is_refused_with_the_time_passed(
    engine: Engine, clock: WallClock
) -> None:
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b", rollback_window_secs=600)
    with pytest.raises(RollbackRefusedError, match="was not cut over"):
        engine.rollback()
    engine.run(progress=False)
    clock.advance(600 + 3725)
    with pytest.raises(RollbackRefusedError,
                       match=r"window of 600 s .* closed 1 h 2 min 5 s ago \(1 h 12 min 5 s"):
        engine.rollback()


def test_finalize_drops_the_space_that_no_longer_serves(engine: Engine) -> None:
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b")
    with pytest.raises(MigrationConflictError, match="finalize follows a cutover"):
        engine.finalize()
    engine.run(progress=False)
    engine.finalize()
    status = engine.status()
    assert [s.name for s in status.spaces] == ["model-b"] and status.query_model == "model-b"
    assert status.write_models == ["model-b"] and status.phase == "stable"
    # A new migration, back to the first model, from the new active space.
    engine.plan("model-a", batch_size=7)
    engine.cancel()
    assert engine.search("text number 3 about topic 3").model == "model-b"
    engine.finalize()
    assert [s.name for s in engine.status().spaces] == ["model-b"]


def test_plans_that_cannot_run_are_refused(engine: Engine) -> None:
    with pytest.raises(MigrationConflictError, match="no documents yet"):
        engine.plan("model-b")
    engine.add(corpus(5), model="model-a")
    with pytest.raises(MigrationConflictError, match="already uses model-a"):
        engine.plan("model-a")
    engine.plan("model-b")
    with pytest.raises(MigrationConflictError, match="still open"):
        engine.plan("model-b")
    with pytest.raises(MigrationConflictError, match="cannot resume .* it is Planned"):
        engine.resume()


def test_a_dead_runners_lease_is_taken_over_when_it_expires(
    engine: Engine, make_engine: Callable[..., Engine], clock: WallClock
) -> None:
    engine.add(corpus(30), model="model-a")
    engine.plan("model-b", batch_size=10)
    engine.start()
    crashed = BackfillRunner(engine, progress=False, lease_secs=60)
    record = engine.migration()
    assert record is not None
    batch, _ = crashed._lease(record)  # leased, then the runner "dies"
    assert batch is not None
    survivor = BackfillRunner(make_engine(), progress=False, wait=False)
    report = survivor.run()
    assert (report.outcome, report.processed) == ("stopped", 20)  # the dead lease holds
    clock.advance(61)
    report = BackfillRunner(make_engine(), progress=False, wait=False).run()
    assert (report.outcome, report.processed, report.skipped) == ("completed", 30, 0)


def test_writers_in_threads_during_the_backfill(engine: Engine, models: Models,
                                                make_engine: Callable[..., Engine]) -> None:
    a, b = models
    engine.add(corpus(200), model="model-a")
    engine.plan("model-b", batch_size=15)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        mine = make_engine()
        try:
            while not stop.is_set():
                i = int(rng.integers(0, 260))
                if rng.random() < 0.3:
                    mine.delete([f"doc-{i}"])
                else:
                    mine.add({f"doc-{i}": f"rewritten by {seed} at {rng.random()}"})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(3)]
    for thread in threads:
        thread.start()
    try:
        report = engine.run(progress=False)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors
    assert report.outcome == "completed"
    assert_space_matches(engine, a)
    assert_space_matches(engine, b)
    assert_counts_exact(engine)
