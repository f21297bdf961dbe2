"""The six states of a migration, as immutable values that serialize like the Rust enum."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from .._serde import (
    Json,
    check_f64,
    check_str,
    check_usize,
    debug_f64,
    debug_str,
    expect_object,
    expect_unit,
    json_f64,
    read_f64,
    read_str,
    read_usize,
    snake_case,
    split_variant,
    unknown_variant,
)

__all__ = [
    "Cancelled",
    "Completed",
    "Failed",
    "InProgress",
    "MigrationState",
    "Paused",
    "Planned",
]


class MigrationState(ABC):
    """Base of `Planned`, `InProgress`, `Paused`, `Completed`, `Failed` and `Cancelled`.

    Every state answers `processed`, `skipped` and `total` (0 where the Rust variant has no
    such field: `Planned` has none, `Completed` has no `total`), and the derived facts below.
    States are frozen dataclasses, compared by value. `to_dict()` / `from_dict()` speak
    serde's JSON: `"planned"`, `{"in_progress": {"processed": 3, "total": 10, "skipped": 0}}`.
    """

    processed: int
    skipped: int
    total: int

    RUST_NAME: ClassVar[str]

    @property
    def is_resumable(self) -> bool:
        """Paused or Failed: `resume()` continues from here."""
        return isinstance(self, (Paused, Failed))

    @property
    def is_terminal(self) -> bool:
        """Completed or Cancelled: no transition leaves these. (Failed is not terminal.)"""
        return isinstance(self, (Completed, Cancelled))

    @property
    def is_active(self) -> bool:
        """InProgress: the only state that accepts progress and skips."""
        return isinstance(self, InProgress)

    @property
    def progress(self) -> float:
        """Raw `processed / total`; 1.0 when `total` is 0.

        As in the original it is not clamped: an overshoot reported to a non-completed
        state gives more than 1.0. Planned is 0.0 and Completed 1.0.
        """
        return 1.0 if self.total == 0 else self.processed / self.total

    @property
    def effective_total(self) -> int:
        """`total - skipped`, floored at 0: the items that really need an embedding."""
        return max(self.total - self.skipped, 0)

    @property
    def effective_coverage(self) -> float:
        """`processed / effective_total`; 1.0 when that is 0. Not clamped either.

        Completed has no `total`, so its effective total is 0 and its coverage 1.0.
        """
        effective_total = self.effective_total
        return 1.0 if effective_total == 0 else self.processed / effective_total

    @abstractmethod
    def rust_debug(self) -> str:
        """The state as Rust's `{:?}` prints it, e.g. `Paused { ..., reason: "x" }`."""

    @abstractmethod
    def to_dict(self) -> Json:
        """Serde's externally tagged JSON value (a bare string for `Planned`)."""

    @classmethod
    def from_dict(cls, data: object) -> MigrationState:
        """Read any state from serde's JSON.

        Accepts the snake_case names and the PascalCase aliases the crate keeps for old
        payloads (`{"InProgress": {...}}`); `skipped` defaults to 0 when absent; unknown
        fields are ignored. Called on a subclass (`Paused.from_dict`), it also checks that
        the payload is that state.
        """
        name, payload = split_variant(data, "MigrationState")
        state_class = _STATES_BY_NAME.get(name)
        if state_class is None:
            expected = [snake_case(state.RUST_NAME) for state in _STATES]
            raise unknown_variant("MigrationState", name, expected)
        # Called on a subclass, only that variant will do (the variants have no subclasses).
        if cls is not MigrationState and state_class is not cls:
            raise ValueError(f"expected {cls.__name__}, got MigrationState {name!r}")
        return state_class._from_payload(payload, f"MigrationState {name!r}")

    @classmethod
    @abstractmethod
    def _from_payload(cls, payload: object, where: str) -> MigrationState:
        """Build this state from the value under its tag."""


def _debug_struct(name: str, fields: dict[str, object]) -> str:
    """Rust's derived `{:?}` for a struct variant: `Name { a: 1, b: "x" }`."""

    def debug(value: object) -> str:
        if isinstance(value, str):
            return debug_str(value)
        if isinstance(value, float):
            return debug_f64(value)
        return str(value)

    inner = ", ".join(f"{key}: {debug(value)}" for key, value in fields.items())
    return f"{name} {{ {inner} }}"


@dataclass(frozen=True)
class Planned(MigrationState):
    """Created, not started. Serialized as `"planned"`."""

    processed = 0
    skipped = 0
    total = 0

    RUST_NAME: ClassVar[str] = "Planned"

    @property
    def progress(self) -> float:
        return 0.0

    def rust_debug(self) -> str:
        return "Planned"

    def to_dict(self) -> Json:
        return "planned"

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> Planned:
        expect_unit(payload, where)
        return cls()


@dataclass(frozen=True)
class InProgress(MigrationState):
    """Working: `processed` of `total` done, `skipped` permanently left out."""

    processed: int
    total: int
    skipped: int

    RUST_NAME: ClassVar[str] = "InProgress"

    def __post_init__(self) -> None:
        check_usize(self.processed, "InProgress.processed")
        check_usize(self.total, "InProgress.total")
        check_usize(self.skipped, "InProgress.skipped")

    def rust_debug(self) -> str:
        return _debug_struct(
            "InProgress",
            {"processed": self.processed, "total": self.total, "skipped": self.skipped},
        )

    def to_dict(self) -> Json:
        return {
            "in_progress": {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
            }
        }

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> InProgress:
        obj = expect_object(payload, where)
        return cls(
            processed=read_usize(obj, "processed", where),
            total=read_usize(obj, "total", where),
            skipped=read_usize(obj, "skipped", where, default=0),
        )


@dataclass(frozen=True)
class Paused(MigrationState):
    """Stopped on purpose, counts kept; `resume()` continues."""

    processed: int
    total: int
    skipped: int
    reason: str

    RUST_NAME: ClassVar[str] = "Paused"

    def __post_init__(self) -> None:
        check_usize(self.processed, "Paused.processed")
        check_usize(self.total, "Paused.total")
        check_usize(self.skipped, "Paused.skipped")
        check_str(self.reason, "Paused.reason")

    def rust_debug(self) -> str:
        return _debug_struct(
            "Paused",
            {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
                "reason": self.reason,
            },
        )

    def to_dict(self) -> Json:
        return {
            "paused": {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
                "reason": self.reason,
            }
        }

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> Paused:
        obj = expect_object(payload, where)
        return cls(
            processed=read_usize(obj, "processed", where),
            total=read_usize(obj, "total", where),
            skipped=read_usize(obj, "skipped", where, default=0),
            reason=read_str(obj, "reason", where),
        )


@dataclass(frozen=True)
class Completed(MigrationState):
    """Done. Keeps `processed` as reported (an overshoot stays) but, as in the original,
    not the total: `total` and `effective_total` read 0 here."""

    processed: int
    skipped: int
    duration_secs: float

    total = 0

    RUST_NAME: ClassVar[str] = "Completed"

    def __post_init__(self) -> None:
        check_usize(self.processed, "Completed.processed")
        check_usize(self.skipped, "Completed.skipped")
        # Accept an int, store a float, like serde reading `5` into an f64.
        object.__setattr__(
            self, "duration_secs", check_f64(self.duration_secs, "Completed.duration_secs")
        )

    @property
    def progress(self) -> float:
        return 1.0

    def rust_debug(self) -> str:
        return _debug_struct(
            "Completed",
            {
                "processed": self.processed,
                "skipped": self.skipped,
                "duration_secs": self.duration_secs,
            },
        )

    def to_dict(self) -> Json:
        return {
            "completed": {
                "processed": self.processed,
                "skipped": self.skipped,
                "duration_secs": json_f64(self.duration_secs),
            }
        }

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> Completed:
        obj = expect_object(payload, where)
        return cls(
            processed=read_usize(obj, "processed", where),
            skipped=read_usize(obj, "skipped", where, default=0),
            duration_secs=read_f64(obj, "duration_secs", where),
        )


@dataclass(frozen=True)
class Failed(MigrationState):
    """Stopped by an error, counts kept; not terminal: `resume()` continues."""

    processed: int
    total: int
    skipped: int
    error: str

    RUST_NAME: ClassVar[str] = "Failed"

    def __post_init__(self) -> None:
        check_usize(self.processed, "Failed.processed")
        check_usize(self.total, "Failed.total")
        check_usize(self.skipped, "Failed.skipped")
        check_str(self.error, "Failed.error")

    def rust_debug(self) -> str:
        return _debug_struct(
            "Failed",
            {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
                "error": self.error,
            },
        )

    def to_dict(self) -> Json:
        return {
            "failed": {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
                "error": self.error,
            }
        }

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> Failed:
        obj = expect_object(payload, where)
        return cls(
            processed=read_usize(obj, "processed", where),
            total=read_usize(obj, "total", where),
            skipped=read_usize(obj, "skipped", where, default=0),
            error=read_str(obj, "error", where),
        )


@dataclass(frozen=True)
class Cancelled(MigrationState):
    """Abandoned by the caller; terminal."""

    processed: int
    total: int
    skipped: int

    RUST_NAME: ClassVar[str] = "Cancelled"

    def __post_init__(self) -> None:
        check_usize(self.processed, "Cancelled.processed")
        check_usize(self.total, "Cancelled.total")
        check_usize(self.skipped, "Cancelled.skipped")

    def rust_debug(self) -> str:
        return _debug_struct(
            "Cancelled",
            {"processed": self.processed, "total": self.total, "skipped": self.skipped},
        )

    def to_dict(self) -> Json:
        return {
            "cancelled": {
                "processed": self.processed,
                "total": self.total,
                "skipped": self.skipped,
            }
        }

    @classmethod
    def _from_payload(cls, payload: object, where: str) -> Cancelled:
        obj = expect_object(payload, where)
        return cls(
            processed=read_usize(obj, "processed", where),
            total=read_usize(obj, "total", where),
            skipped=read_usize(obj, "skipped", where, default=0),
        )


_STATES: tuple[type[MigrationState], ...] = (
    Planned,
    InProgress,
    Paused,
    Completed,
    Failed,
    Cancelled,
)
_STATES_BY_NAME: dict[str, type[MigrationState]] = {
    **{state.RUST_NAME: state for state in _STATES},
    **{snake_case(state.RUST_NAME): state for state in _STATES},
}
