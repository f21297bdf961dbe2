"""Checks shared by the engine tests: what a store holds against what it should hold."""

from __future__ import annotations

import numpy as np

from lattice_embed.engine import Engine
from lattice_embed.engine.routing import counts

from .encoders import HashEncoder


def space_vectors(engine: Engine, name: str) -> dict[str, np.ndarray]:
    """Every live vector of a space, by document id."""
    with engine.store.transaction() as tx:
        (space,) = [s for s in tx.spaces() if s.name == name]
        return {doc_id: row for rows in tx.vectors(space.space_id)
                for doc_id, row in zip(rows.ids, rows.matrix)}


def live_documents(engine: Engine) -> dict[str, str]:
    with engine.store.transaction() as tx:
        seqs = []
        for batch in [tx.documents_in_range(0, 2**62)]:
            seqs = batch
        return {doc.id: doc.text for doc in seqs}


def assert_space_matches(engine: Engine, model: HashEncoder, *, complete: bool = True) -> None:
    """Every vector in the model's space is the model's vector of its document's current text,
    no deleted document has one, and (`complete`) every live document has one."""
    docs = live_documents(engine)
    vectors = space_vectors(engine, model.spec.name)
    assert set(vectors) <= set(docs), sorted(set(vectors) - set(docs))
    if complete:
        assert set(vectors) == set(docs), sorted(set(docs) - set(vectors))
    for doc_id, row in vectors.items():
        np.testing.assert_array_equal(row, model.vector(docs[doc_id]), err_msg=doc_id)


def assert_counts_exact(engine: Engine) -> None:
    """processed + skipped never exceeds the plan; it equals it once complete."""
    record = engine.migration()
    assert record is not None
    processed, skipped, total = counts(record)
    assert processed + skipped <= total
    if engine.status().state == "Completed":
        assert processed + skipped == total


# Each logged transition: the states it may leave, and the state it reaches.
TRANSITIONS = {
    "started": ({"Planned"}, "InProgress"),
    "paused": ({"InProgress"}, "Paused"),
    "resumed": ({"Paused", "Failed"}, "InProgress"),
    "failed": ({"InProgress"}, "Failed"),
    "cancelled": ({"Planned", "InProgress", "Paused", "Failed"}, "Cancelled"),
    "completed": ({"InProgress"}, "Completed"),
}


def assert_event_log_whole(engine: Engine) -> None:
    """The log of the latest migration is a legal path of the port's state machine from its
    planning to its stored state, with one event per cutover, rollback and finalize, ids
    increasing, and counts that never go back."""
    from lattice_embed.migration import MigrationState

    record = engine.migration()
    if record is None:
        return
    events = engine.events(record.id)
    ids = [event.event_id for event in engine.events()]
    assert ids == sorted(set(ids))
    assert events[0].kind == "planned" and events[0].state == "planned"
    state, done = "Planned", 0
    for event in events:
        logged = MigrationState.from_dict(event.state)
        if event.kind in TRANSITIONS:
            sources, reached = TRANSITIONS[event.kind]
            assert state in sources and logged.RUST_NAME == reached, (state, event)
            state = reached
        else:
            assert logged.RUST_NAME == state, (state, event)
        assert logged.processed + logged.skipped >= done, event
        done = logged.processed + logged.skipped
    assert MigrationState.from_dict(record.state).RUST_NAME == state
    kinds = [event.kind for event in events]
    for kind, stamp in [("cutover", record.cutover_at), ("rolled_back", record.rolled_back_at),
                        ("finalized", record.finalized_at)]:
        assert kinds.count(kind) == (stamp is not None), (kind, kinds)
