"""Migrating stored embeddings from one model to another: the plan, its states, and the
controller that moves between them.

A faithful port of lattice-embed's `migration` module (0.2.2, with the 0.4.0 skip fixes).
Everything is in memory; `to_dict()` / `from_dict()` read and write the JSON the Rust
crate's serde uses, so a Python and a Rust service can share plans, states and progress.
"""

from .controller import Clock, MigrationController
from .errors import MigrationError
from .plan import MigrationPlan
from .progress import MigrationProgress
from .skip import (
    ContentDeleted,
    ContentTooLarge,
    InvalidEncoding,
    ManualSkip,
    PermanentApiError,
    SkipReason,
)
from .state import (
    Cancelled,
    Completed,
    Failed,
    InProgress,
    MigrationState,
    Paused,
    Planned,
)

__all__ = [
    "Cancelled",
    "Clock",
    "Completed",
    "ContentDeleted",
    "ContentTooLarge",
    "Failed",
    "InProgress",
    "InvalidEncoding",
    "ManualSkip",
    "MigrationController",
    "MigrationError",
    "MigrationPlan",
    "MigrationProgress",
    "MigrationState",
    "Paused",
    "PermanentApiError",
    "Planned",
    "SkipReason",
]
