"""Routing decisions, routing phases and the backfill configuration."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from .._serde import (
    Json,
    check_bool,
    check_f64,
    check_str,
    check_usize,
    describe,
    expect_array,
    expect_object,
    field,
    read_bool,
    read_f64,
    read_optional_str,
    read_usize,
    unknown_variant,
)
from ..model import EmbeddingModel

__all__ = ["BackfillConfig", "EmbeddingRoute", "EmbeddingRoutingConfig", "RoutingPhase"]


class EmbeddingRoute(Enum):
    """Which model embeds a request: the source (LEGACY), the TARGET, or both (DUAL_WRITE).

    Not serialized in the original; `to_dict()` gives the snake_case name serde would use.
    """

    LEGACY = "legacy"
    TARGET = "target"
    DUAL_WRITE = "dual_write"

    def to_dict(self) -> str:
        return self.value

    @classmethod
    def from_dict(cls, data: object) -> EmbeddingRoute:
        return _read_unit_enum(cls, data, "EmbeddingRoute")


class RoutingPhase(Enum):
    """Where the migration stands for routing: STABLE (no migration in flight), MIGRATING,
    or ROLLBACK_WINDOW (cut over, still writing both models so a rollback loses nothing)."""

    STABLE = "stable"
    MIGRATING = "migrating"
    ROLLBACK_WINDOW = "rollback_window"

    def to_dict(self) -> str:
        return self.value

    @classmethod
    def from_dict(cls, data: object) -> RoutingPhase:
        return _read_unit_enum(cls, data, "RoutingPhase")


_E = TypeVar("_E", bound=Enum)


def _read_unit_enum(enum: type[_E], data: object, where: str) -> _E:
    """A snake_case value, or the PascalCase Rust name (`"RollbackWindow"`)."""
    if not isinstance(data, str):
        raise TypeError(f"{where} must be a string, got {describe(data)}")
    for member in enum:
        rust_name = member.name.title().replace("_", "")
        if data in (member.value, rust_name):
            return member
    raise unknown_variant(where, data, [str(member.value) for member in enum])


@dataclass(frozen=True)
class EmbeddingRoutingConfig:
    """Which model answers queries and which models receive writes, right now.

    Separating the two is what makes rollback safe: in the rollback window queries use the
    target while writes still go to both models. `write_models` is a tuple (source first
    when both); `migration_id` is set while migrating and in the rollback window.
    """

    query_model: EmbeddingModel
    write_models: tuple[EmbeddingModel, ...]
    phase: RoutingPhase
    migration_id: str | None = None

    def __init__(
        self,
        query_model: EmbeddingModel,
        write_models: Sequence[EmbeddingModel],
        phase: RoutingPhase,
        migration_id: str | None = None,
    ) -> None:
        if not isinstance(query_model, EmbeddingModel):
            raise TypeError(
                "EmbeddingRoutingConfig.query_model must be an EmbeddingModel, "
                f"got {describe(query_model)}"
            )
        models = tuple(expect_array(write_models, "EmbeddingRoutingConfig.write_models"))
        for model in models:
            if not isinstance(model, EmbeddingModel):
                raise TypeError(
                    "EmbeddingRoutingConfig.write_models must hold EmbeddingModels, "
                    f"got {describe(model)}"
                )
        if not isinstance(phase, RoutingPhase):
            raise TypeError(
                f"EmbeddingRoutingConfig.phase must be a RoutingPhase, got {describe(phase)}"
            )
        if migration_id is not None:
            check_str(migration_id, "EmbeddingRoutingConfig.migration_id")
        object.__setattr__(self, "query_model", query_model)
        object.__setattr__(self, "write_models", models)
        object.__setattr__(self, "phase", phase)
        object.__setattr__(self, "migration_id", migration_id)

    def to_dict(self) -> dict[str, Json]:
        return {
            "query_model": self.query_model.to_dict(),
            "write_models": [model.to_dict() for model in self.write_models],
            "phase": self.phase.to_dict(),
            "migration_id": self.migration_id,
        }

    @classmethod
    def from_dict(cls, data: object) -> EmbeddingRoutingConfig:
        where = "EmbeddingRoutingConfig"
        obj = expect_object(data, where)
        write_models = expect_array(field(obj, "write_models", where), f"{where}.write_models")
        return cls(
            query_model=EmbeddingModel.from_dict(field(obj, "query_model", where)),
            write_models=[EmbeddingModel.from_dict(model) for model in write_models],
            phase=RoutingPhase.from_dict(field(obj, "phase", where)),
            migration_id=read_optional_str(obj, "migration_id", where),
        )


@dataclass(frozen=True)
class BackfillConfig:
    """How the backfill runs (the original's `BackfillConfig`, same defaults).

    - `batch_size`: most items per backfill batch (>= 1).
    - `max_concurrent`: batches allowed in flight (>= 1); stored for the caller, not
      enforced here (as in the original).
    - `dual_write`: while migrating, embed new documents with both models.
    - `target_query_threshold`: raw progress (processed / total) from which queries go to
      the target, in [0, 1].
    - `rollback_window_secs`: after cutover, how long writes still go to both models.

    Unlike the original, invalid values are refused with a ValueError naming the field.
    """

    batch_size: int = 100
    max_concurrent: int = 4
    dual_write: bool = True
    target_query_threshold: float = 0.8
    rollback_window_secs: int = 86400

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_concurrent"):
            value = check_usize(getattr(self, name), f"BackfillConfig.{name}")
            if value < 1:
                raise ValueError(f"BackfillConfig.{name} must be at least 1, got {value}")
        check_bool(self.dual_write, "BackfillConfig.dual_write")
        threshold = check_f64(self.target_query_threshold, "BackfillConfig.target_query_threshold")
        if math.isnan(threshold) or not 0.0 <= threshold <= 1.0:
            raise ValueError(
                f"BackfillConfig.target_query_threshold must be between 0 and 1, got {threshold}"
            )
        object.__setattr__(self, "target_query_threshold", threshold)
        check_usize(self.rollback_window_secs, "BackfillConfig.rollback_window_secs")

    def to_dict(self) -> dict[str, Json]:
        return {
            "batch_size": self.batch_size,
            "max_concurrent": self.max_concurrent,
            "dual_write": self.dual_write,
            "target_query_threshold": self.target_query_threshold,
            "rollback_window_secs": self.rollback_window_secs,
        }

    @classmethod
    def from_dict(cls, data: object) -> BackfillConfig:
        """Read serde's form; every field is required, as in the original."""
        where = "BackfillConfig"
        obj = expect_object(data, where)
        return cls(
            batch_size=read_usize(obj, "batch_size", where),
            max_concurrent=read_usize(obj, "max_concurrent", where),
            dual_write=read_bool(obj, "dual_write", where),
            target_query_threshold=read_f64(obj, "target_query_threshold", where),
            rollback_window_secs=read_usize(obj, "rollback_window_secs", where),
        )
