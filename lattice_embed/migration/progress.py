"""A snapshot of where a migration stands, for dashboards and logs."""

from __future__ import annotations

from dataclasses import dataclass

from .._serde import (
    Json,
    check_f64,
    check_str,
    check_usize,
    describe,
    expect_object,
    field,
    json_f64,
    read_f64,
    read_optional_f64,
    read_str,
    read_usize,
)
from .state import MigrationState

__all__ = ["MigrationProgress"]


@dataclass(frozen=True)
class MigrationProgress:
    """What `MigrationController.progress()` reports (the original's `MigrationProgress`).

    `throughput` is processed items per second since `start()`, counted over the whole
    controller lifetime (pauses included) and only while InProgress, else 0.0. `eta_secs`
    is `(total - skipped - processed) / throughput`, floored at 0, and None unless the
    throughput is positive. When read from JSON, `skipped`, `effective_total` and
    `effective_coverage` default to 0 (serde defaults, for payloads older than skips).
    """

    migration_id: str
    state: MigrationState
    skipped: int
    effective_total: int
    effective_coverage: float
    throughput: float
    eta_secs: float | None
    error_count: int

    def __post_init__(self) -> None:
        check_str(self.migration_id, "MigrationProgress.migration_id")
        if not isinstance(self.state, MigrationState):
            raise TypeError(
                f"MigrationProgress.state must be a MigrationState, got {describe(self.state)}"
            )
        check_usize(self.skipped, "MigrationProgress.skipped")
        check_usize(self.effective_total, "MigrationProgress.effective_total")
        check_usize(self.error_count, "MigrationProgress.error_count")
        # Accept ints for the float fields and store floats, as serde reads f64.
        for name in ("effective_coverage", "throughput"):
            value = check_f64(getattr(self, name), f"MigrationProgress.{name}")
            object.__setattr__(self, name, value)
        if self.eta_secs is not None:
            eta = check_f64(self.eta_secs, "MigrationProgress.eta_secs")
            object.__setattr__(self, "eta_secs", eta)

    def to_dict(self) -> dict[str, Json]:
        return {
            "migration_id": self.migration_id,
            "state": self.state.to_dict(),
            "skipped": self.skipped,
            "effective_total": self.effective_total,
            "effective_coverage": json_f64(self.effective_coverage),
            "throughput": json_f64(self.throughput),
            "eta_secs": None if self.eta_secs is None else json_f64(self.eta_secs),
            "error_count": self.error_count,
        }

    @classmethod
    def from_dict(cls, data: object) -> MigrationProgress:
        where = "MigrationProgress"
        obj = expect_object(data, where)
        return cls(
            migration_id=read_str(obj, "migration_id", where),
            state=MigrationState.from_dict(field(obj, "state", where)),
            skipped=read_usize(obj, "skipped", where, default=0),
            effective_total=read_usize(obj, "effective_total", where, default=0),
            effective_coverage=read_f64(obj, "effective_coverage", where, default=0.0),
            throughput=read_f64(obj, "throughput", where),
            eta_secs=read_optional_f64(obj, "eta_secs", where),
            error_count=read_usize(obj, "error_count", where),
        )
