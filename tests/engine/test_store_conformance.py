"""One suite every store passes: the store protocol's contract, on real databases."""

from __future__ import annotations

import threading
from collections.abc import Callable

import msgspec
import numpy as np
import pytest

from lattice_embed.engine import Store
from lattice_embed.engine.records import Event, GateConfig, MigrationRecord, Skip, SpaceSpec

SPEC = SpaceSpec("m", 4, "f" * 64, "m", {"pooling": "mean"})


def vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 4)).astype(np.float32)


def test_documents_get_stable_seqs_and_growing_versions(store: Store) -> None:
    with store.transaction(write=True) as tx:
        first = tx.upsert_documents([("a", "one"), ("b", "two")])
    with store.transaction(write=True) as tx:
        again = tx.upsert_documents([("b", "TWO"), ("c", "three")])
    assert [(d.id, d.version) for d in first] == [("a", 1), ("b", 1)]
    assert again[0].seq == first[1].seq and again[0].version == 2 and again[0].text == "TWO"
    assert again[1].seq > first[1].seq
    with store.transaction() as tx:
        assert tx.count_documents() == 3
        assert [d.id for d in tx.documents_in_range(first[0].seq, again[1].seq)] == ["b", "c"]
        assert {d.id for d in tx.documents_by_id(["c", "zz", "a"])} == {"a", "c"}


def test_a_deleted_id_that_comes_back_is_a_new_document(store: Store) -> None:
    with store.transaction(write=True) as tx:
        (old,) = tx.upsert_documents([("a", "one")])
    with store.transaction(write=True) as tx:
        assert [d.id for d in tx.delete_documents(["a", "missing"])] == ["a"]
    with store.transaction(write=True) as tx:
        (new,) = tx.upsert_documents([("a", "one again")])
    assert new.seq > old.seq and new.version == 1
    with store.transaction() as tx:
        assert tx.documents_by_seq([old.seq]) == []


def test_stamps_grow_with_each_write_transaction(store: Store) -> None:
    with store.transaction() as tx:
        start = tx.stamp
    for _ in range(3):
        with store.transaction(write=True) as tx:
            tx.upsert_documents([("a", "x")])
            taken = tx.stamp
        assert taken > start
        start = taken
    with store.transaction() as tx:
        assert tx.stamp == start


def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction(write=True) as tx:
            tx.upsert_documents([("a", "x")])
            raise RuntimeError("boom")
    with store.transaction() as tx:
        assert tx.count_documents() == 0


def test_put_vectors_writes_only_missing_or_older(store: Store) -> None:
    with store.transaction(write=True) as tx:
        space = tx.create_space(SPEC, "2026-01-01T00:00:00.000Z")
        docs = tx.upsert_documents([("a", "x"), ("b", "y")])
        keys = [(d.seq, d.version) for d in docs]
        assert tx.put_vectors(space.space_id, keys, vectors(2)) == 2
        assert tx.put_vectors(space.space_id, keys, vectors(2, seed=1)) == 0  # same version
        newer = [(docs[0].seq, 2)]
        assert tx.put_vectors(space.space_id, newer, vectors(1, seed=2)) == 1
        assert tx.put_vectors(space.space_id, [(docs[0].seq, 1)], vectors(1, seed=3)) == 0
        assert tx.vector_versions(space.space_id, [d.seq for d in docs]) == {
            docs[0].seq: 2, docs[1].seq: 1}
    with store.transaction() as tx:
        (rows,) = list(tx.vectors(space.space_id))
    np.testing.assert_array_equal(rows.matrix, np.vstack([vectors(1, seed=2), vectors(2)[1:]]))
    assert rows.ids == ["a", "b"] and rows.matrix.dtype == np.float32


def test_vector_changes_report_writes_and_removals(store: Store) -> None:
    with store.transaction(write=True) as tx:
        space = tx.create_space(SPEC, "t")
        docs = tx.upsert_documents([("a", "x"), ("b", "y"), ("c", "z")])
        tx.put_vectors(space.space_id, [(d.seq, d.version) for d in docs], vectors(3))
    with store.transaction() as tx:
        mark = tx.stamp
    with store.transaction(write=True) as tx:
        tx.delete_documents(["a"])
        tx.remove_vectors(space.space_id, [docs[1].seq])
        (c2,) = tx.upsert_documents([("c", "zz")])
        tx.put_vectors(space.space_id, [(c2.seq, c2.version)], vectors(1, seed=9))
    with store.transaction() as tx:
        changes = tx.vector_changes(space.space_id, mark)
        assert changes.stamp == tx.stamp
        assert sorted(changes.removed.tolist()) == [docs[0].seq, docs[1].seq]
        assert changes.written.ids == ["c"]
        np.testing.assert_array_equal(changes.written.matrix, vectors(1, seed=9))
        assert tx.count_vectors(space.space_id) == 1
        nothing = tx.vector_changes(space.space_id, changes.stamp)
        assert len(nothing.written) == 0 and len(nothing.removed) == 0


def test_vectors_are_read_in_chunks_in_seq_order(store: Store) -> None:
    with store.transaction(write=True) as tx:
        space = tx.create_space(SPEC, "t")
        docs = tx.upsert_documents([(f"d{i}", "t") for i in range(10)])
        tx.put_vectors(space.space_id, [(d.seq, 1) for d in docs], vectors(10))
    with store.transaction() as tx:
        chunks = list(tx.vectors(space.space_id, chunk=3))
    assert [len(c) for c in chunks] == [3, 3, 3, 1]
    np.testing.assert_array_equal(np.vstack([c.matrix for c in chunks]), vectors(10))


def test_stale_documents_are_those_written_since_without_a_current_vector(store: Store) -> None:
    with store.transaction(write=True) as tx:
        space = tx.create_space(SPEC, "t")
        old = tx.upsert_documents([("old", "x")])
        mark = tx.stamp
    with store.transaction(write=True) as tx:
        fresh = tx.upsert_documents([("covered", "x"), ("missing", "y"), ("skipped", "z")])
        tx.put_vectors(space.space_id, [(fresh[0].seq, 1)], vectors(1))
        tx.add_skips([Skip("mig", {"manual_skip": {"reason": "x"}}, "t", False,
                           fresh[2].seq, 1, "skipped")])
    with store.transaction() as tx:
        stale = tx.stale_documents(space.space_id, mark, "mig", 10)
        assert [d.id for d in stale] == ["missing"]
        assert [d.id for d in tx.stale_documents(space.space_id, mark, "other", 10)] == [
            "missing", "skipped"]
        assert old[0].id not in [d.id for d in tx.stale_documents(space.space_id, mark, "m", 9)]


def test_spaces_are_created_listed_and_dropped_with_their_vectors(store: Store) -> None:
    with store.transaction(write=True) as tx:
        a = tx.create_space(SPEC, "t1")
        b = tx.create_space(SpaceSpec("n", 2, "e" * 64, "n"), "t2")
        docs = tx.upsert_documents([("a", "x")])
        tx.put_vectors(b.space_id, [(docs[0].seq, 1)], np.ones((1, 2), np.float32))
    with store.transaction(write=True) as tx:
        assert [s.spec for s in tx.spaces()] == [SPEC, b.spec]
        tx.drop_space(b.space_id)
    with store.transaction(write=True) as tx:
        assert [s.name for s in tx.spaces()] == ["m"]
        again = tx.create_space(b.spec, "t3")  # the name is free again
        assert again.space_id != a.space_id and tx.count_vectors(again.space_id) == 0


def test_settings_migrations_events_and_skips_round_trip(store: Store) -> None:
    record = MigrationRecord("mig-1", "m", "n", {"id": "mig-1"}, {"batch_size": 2}, "planned",
                             "t", 7, gate=GateConfig(min_overlap=0.5))
    with store.transaction(write=True) as tx:
        assert tx.get_setting("active_space") is None and tx.migration() is None
        tx.set_setting("active_space", "m")
        tx.save_migration(record)
        first = tx.append_event(Event("mig-1", "t", "planned", "why", "planned"))
        second = tx.append_event(Event("mig-1", "t", "started", "go", {"in_progress": {}}))
        tx.add_skips([Skip("mig-1", {"content_deleted": None}, "t", True)])
    assert second > first
    later = MigrationRecord("mig-2", "n", "m", {}, {}, "planned", "t", 9)
    with store.transaction(write=True) as tx:
        tx.save_migration(msgspec.structs.replace(record, state="cancelled"))
        tx.save_migration(later)
    with store.transaction() as tx:
        assert tx.get_setting("active_space") == "m"
        assert tx.migration() == later  # the latest opened, not the latest saved
        assert [e.kind for e in tx.events("mig-1")] == ["planned", "started"]
        assert [e.event_id for e in tx.events()] == [first, second]
        assert tx.skips("mig-1")[0].counted and tx.skips("mig-2") == []


def test_batches_split_the_planned_documents_and_complete_once(store: Store) -> None:
    with store.transaction(write=True) as tx:
        docs = tx.upsert_documents([(f"d{i}", "t") for i in range(7)])
        tx.delete_documents(["d3"])
        assert tx.create_batches("mig", 3, 2**62) == 6
    leased = []
    with store.transaction(write=True) as tx:
        while (batch := tx.lease_batch("mig", "w1", 0.0, 100.0, [])) is not None:
            leased.append(batch)
    assert [(b.lo_seq, b.hi_seq, b.size) for b in leased] == [
        (0, docs[2].seq, 3), (docs[2].seq, docs[6].seq, 3)]
    with store.transaction(write=True) as tx:
        assert tx.lease_owners("mig") == ["w1"]
        assert tx.complete_batch("mig", leased[0].batch_no)
        assert not tx.complete_batch("mig", leased[0].batch_no)
        assert tx.lease_batch("mig", "w2", 50.0, 150.0, []) is None  # w1's lease holds
        taken = tx.lease_batch("mig", "w2", 101.0, 201.0, [])  # expired
        assert taken is not None and taken.batch_no == leased[1].batch_no
        tx.release_batch("mig", taken.batch_no, "w1")  # not w1's any more: no effect
        assert tx.lease_batch("mig", "w3", 102.0, 202.0, []) is None
        assert tx.lease_batch("mig", "w3", 102.0, 202.0, ["w2"]) is not None  # reclaimed
        tx.release_batch("mig", taken.batch_no, "w3")
        assert tx.lease_owners("mig") == []


def test_two_threads_leasing_get_different_batches(make_store: Callable[[], Store]) -> None:
    first = make_store()
    with first.transaction(write=True) as tx:
        tx.upsert_documents([(f"d{i}", "t") for i in range(40)])
        tx.create_batches("mig", 1, 2**62)
    got: list[int] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        store = make_store()
        while True:
            with store.transaction(write=True) as tx:
                batch = tx.lease_batch("mig", name, 0.0, 1e9, [])
            if batch is None:
                return
            with lock:
                got.append(batch.batch_no)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(40))
