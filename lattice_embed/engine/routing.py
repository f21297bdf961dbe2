"""Where reads and writes go: one rule for each, from the stored migration and the wall clock.

The port answers reads twice, and its answers disagree between the threshold and completion
(`route_query()` says target at 850 of 1,000, `routing_config().query_model` says source). The
engine has one rule, and keeps it in one place, here:

**Reads** go to the target once the engine has *switched* them, else to the source. It switches
when the backfill covers `target_query_threshold` of its documents (processed / (total −
skipped): skipped documents can never be covered) and the quality gate passes, or at cutover;
a rollback or a cancel switches them back. Why: a target that covers less than everything misses
the uncovered documents, so the switch waits for a coverage the operator chose (the engine's
default threshold is 1.0: switch at completion) and for evidence that the new model retrieves
as well (the gate). Pausing does not move reads: a pause stops the backfill's load, not the
service.

**Writes** (adds, updates and deletes alike) go to:

===============================  ==========================  ================
migration                        writes                      phase
===============================  ==========================  ================
none, finalized                  the active space            stable
planned                          source                      stable
backfilling (running, paused,    source + target (source     migrating
failed)                          only without dual-write)
complete, awaiting cutover       source + target             migrating
cut over, window open            source + target             rollback_window
cut over, window closed          target                      stable
rolled back, cancelled           source                      stable
===============================  ==========================  ================

Unlike the original, which dual-writes new documents only and leaves updates of existing ones
in the legacy space (stale in the target after cutover), an update is written to every space
in the write set. A space left out of a write loses that document's vector rather than keep a
stale one; the backfill's catch-up (or a later write) fills it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..backfill import BackfillConfig, RoutingPhase
from ..migration import Cancelled, Completed, MigrationState, Planned
from .records import MigrationRecord

__all__ = ["Routing", "counts", "port_state", "reads_on_target", "route", "window_end"]


@dataclass(frozen=True)
class Routing:
    """The answer for one moment: which space answers queries, which receive writes."""

    query_space: str
    write_spaces: tuple[str, ...]
    phase: RoutingPhase
    migration_id: str | None = None


def port_state(record: MigrationRecord) -> MigrationState:
    return MigrationState.from_dict(record.state)


def counts(record: MigrationRecord) -> tuple[int, int, int]:
    """`(processed, skipped, total)`; the total is the plan's (the port's Completed has none)."""
    state = port_state(record)
    return state.processed, state.skipped, int(record.plan["total_embeddings"])


def window_end(record: MigrationRecord) -> float | None:
    """When the rollback window closes (wall-clock seconds), or None before cutover."""
    if record.cutover_at is None:
        return None
    return record.cutover_at + BackfillConfig.from_dict(record.config).rollback_window_secs


def reads_on_target(record: MigrationRecord) -> bool:
    """True when the engine has switched reads to the target and no rollback or cancel has
    switched them back."""
    if record.rolled_back_at is not None or isinstance(port_state(record), Cancelled):
        return False
    return record.reads_on_target or record.cutover_at is not None


def route(active: str | None, record: MigrationRecord | None, now: float) -> Routing | None:
    """The routing at wall-clock time `now`; None for a store with no space yet."""
    if record is None or record.finalized_at is not None:
        return None if active is None else Routing(active, (active,), RoutingPhase.STABLE)
    source, target, mid = record.source, record.target, record.id
    state = port_state(record)
    if record.rolled_back_at is not None or isinstance(state, (Planned, Cancelled)):
        return Routing(source, (source,), RoutingPhase.STABLE, mid)
    query = target if reads_on_target(record) else source
    end = window_end(record)
    if end is not None:
        if now < end:
            return Routing(target, (source, target), RoutingPhase.ROLLBACK_WINDOW, mid)
        return Routing(target, (target,), RoutingPhase.STABLE, mid)
    dual = isinstance(state, Completed) or BackfillConfig.from_dict(record.config).dual_write
    return Routing(query, (source, target) if dual else (source,), RoutingPhase.MIGRATING, mid)
