"""Random sequences of the engine's operations, restarts and crashed runners included, on a real
SQLite file, checked after every step against a plain dictionary of the documents."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from lattice_embed.engine import Engine, EngineError
from lattice_embed.engine.routing import counts, port_state, reads_on_target
from lattice_embed.engine.runner import BackfillRunner
from lattice_embed.migration import Completed

from .conftest import WallClock
from .encoders import HashEncoder, factory
from .helpers import assert_event_log_whole, space_vectors

IDS = st.sampled_from([f"d{i}" for i in range(24)])
TEXTS = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
MODELS = {"a": HashEncoder("a", 8), "b": HashEncoder("b", 12)}


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="engine-sm-"))
        self.clock = WallClock()
        self.engine = self._open()
        self.docs: dict[str, str] = {}
        self.runners: list[BackfillRunner] = []

    def _open(self) -> Engine:
        return Engine.open(self.folder / "store.db", encoders=factory(*MODELS.values()),
                           clock=self.clock)

    def teardown(self) -> None:
        self.engine.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(items=st.dictionaries(IDS, TEXTS, min_size=1, max_size=20),
                batch=st.integers(2, 8), dual=st.booleans(),
                threshold=st.sampled_from([0.5, 1.0]), window=st.sampled_from([0, 100, 10_000]))
    def planned(self, items: dict[str, str], batch: int, dual: bool, threshold: float,
                window: int) -> None:
        """Most examples start with a corpus and a planned migration."""
        self.engine.add(items, model="a")
        self.docs.update(items)
        self.engine.plan("b", batch_size=batch, dual_write=dual, threshold=threshold,
                         rollback_window_secs=window)

    # -- documents ---------------------------------------------------------------------------

    @rule(items=st.dictionaries(IDS, TEXTS, min_size=1, max_size=6))
    def add(self, items: dict[str, str]) -> None:
        self.engine.add(items, model="a" if not self.docs and self._fresh() else None)
        self.docs.update(items)

    def _fresh(self) -> bool:
        return self.engine.routing() is None

    @precondition(lambda self: self.docs)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        ids = data.draw(st.lists(st.sampled_from(sorted(self.docs)), min_size=1, max_size=3))
        self.engine.delete(ids + ["never-stored"])
        for doc_id in ids:
            self.docs.pop(doc_id, None)

    # -- the migration -----------------------------------------------------------------------

    @precondition(lambda self: self.docs or not self._fresh())
    @rule(batch=st.integers(2, 8), dual=st.booleans(), threshold=st.sampled_from([0.5, 1.0]),
          window=st.sampled_from([0, 100, 10_000]))
    def plan(self, batch: int, dual: bool, threshold: float, window: int) -> None:
        routing = self.engine.routing()
        assert routing is not None
        target = "b" if routing.query_space == "a" else "a"
        record = self.engine.migration()
        try:
            self.engine.plan(target, batch_size=batch, dual_write=dual, threshold=threshold,
                             rollback_window_secs=window)
        except EngineError:
            assert record is not None and record.finalized_at is None
        else:
            assert record is None or record.finalized_at is not None

    @rule(batches=st.integers(1, 3))
    def run_a_little(self, batches: int) -> None:
        self.run(batches)

    @rule(batches=st.one_of(st.integers(1, 3), st.none()))
    def run(self, batches: int | None) -> None:
        record = self.engine.migration()
        try:
            report = BackfillRunner(self.engine, progress=False, max_batches=batches,
                                    wait=False, lease_secs=60, sleep=self.clock.advance).run()
            event(f"run: {report.outcome}")
        except EngineError:
            assert record is None or record.finalized_at is not None

    @rule()
    def crash_holding_a_lease(self) -> None:
        """A runner leases a batch and dies before committing it."""
        record = self.engine.migration()
        if record is None or not port_state(record).is_active:
            return
        runner = BackfillRunner(self.engine, progress=False, lease_secs=60)
        runner._lease(record)

    @rule(seconds=st.sampled_from([1, 30, 61, 150]))
    def wait(self, seconds: int) -> None:
        self.clock.advance(seconds)

    def _control(self, action: str) -> None:
        before = self.engine.migration()
        try:
            if action == "force_cutover":
                self.engine.cutover(force=True)
            else:
                getattr(self.engine, action)()
            event(f"{action}: done")
        except EngineError:
            after = self.engine.migration()
            if before is not None and after is not None:  # a refusal changes nothing
                assert after.state == before.state
                assert (after.cutover_at, after.rolled_back_at, after.finalized_at) == (
                    before.cutover_at, before.rolled_back_at, before.finalized_at)

    @rule()
    def pause(self) -> None:
        self._control("pause")

    @rule()
    def resume(self) -> None:
        self._control("resume")

    @rule(dice=st.integers(0, 4))
    def cancel(self, dice: int) -> None:
        if dice == 0:  # one time in five: a cancel ends most of what is worth exploring
            self._control("cancel")

    @rule(force=st.booleans())
    def cutover(self, force: bool) -> None:
        self._control("force_cutover" if force else "cutover")

    @rule()
    def rollback(self) -> None:
        self._control("rollback")

    @rule()
    def finalize(self) -> None:
        self._control("finalize")

    @rule()
    def restart(self) -> None:
        self.engine.close()
        self.engine = self._open()

    # -- invariants --------------------------------------------------------------------------

    @invariant()
    def documents_are_the_reference(self) -> None:
        assert self.engine.documents(sorted(self.docs) + ["never-stored"]) == self.docs
        assert self.engine.status().documents == len(self.docs)

    @invariant()
    def every_vector_is_current(self) -> None:
        for space in self.engine.status().spaces:
            model = MODELS[space.name]
            for doc_id, vector in space_vectors(self.engine, space.name).items():
                assert doc_id in self.docs, f"deleted {doc_id} has a vector in {space.name}"
                np.testing.assert_array_equal(vector, model.vector(self.docs[doc_id]))

    @invariant()
    def the_spaces_that_must_be_complete_are(self) -> None:
        routing = self.engine.routing()
        if routing is None:
            return
        record = self.engine.migration()
        complete = {routing.write_spaces[0]} if len(routing.write_spaces) else set()
        if record is not None and record.finalized_at is None:
            state = port_state(record)
            source_written = record.source in routing.write_spaces
            complete = {record.source} if source_written else set()
            if isinstance(state, Completed) and record.target in routing.write_spaces:
                complete.add(record.target)
            if not reads_on_target(record) or isinstance(state, Completed):
                complete.add(routing.query_space)
        for name in complete:
            assert set(space_vectors(self.engine, name)) == set(self.docs), name

    @invariant()
    def counts_are_exact(self) -> None:
        record = self.engine.migration()
        if record is None:
            return
        processed, skipped, total = counts(record)
        assert processed + skipped <= total
        if isinstance(port_state(record), Completed):
            assert processed + skipped == total

    @invariant()
    def the_event_log_is_whole(self) -> None:
        assert_event_log_whole(self.engine)


TestEngineStateMachine = EngineMachine.TestCase
TestEngineStateMachine.settings = settings(
    max_examples=80, stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
