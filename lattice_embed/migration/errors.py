"""The error a migration operation raises when the current state does not allow it."""

from __future__ import annotations

__all__ = ["MigrationError"]


class MigrationError(Exception):
    """An invalid state transition (the original's `MigrationError::InvalidTransition`).

    `from_state` is the current state as Rust's `{:?}` prints it, e.g.
    `InProgress { processed: 3, total: 10, skipped: 0 }`, so messages match the Rust
    service's logs; `to_state` names the attempted transition, e.g. `"Paused"` or
    `"InProgress (resume)"`.
    """

    def __init__(self, from_state: str, to_state: str) -> None:
        super().__init__(from_state, to_state)
        self.from_state = from_state
        self.to_state = to_state

    def __str__(self) -> str:
        return f"invalid migration transition from {self.from_state} to {self.to_state}"
