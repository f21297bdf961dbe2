"""The migration engine: a stored corpus, searchable, whose embeddings move from one model to
another without downtime, losing nothing and counting nothing twice.

Built above the port (`lattice_embed.migration`, `lattice_embed.backfill`), which it drives and
whose state it keeps; see `engine.Engine` for the API, `routing` for where reads and writes go,
`runner` for the backfill, `gate` for the quality gate and `store` for the store protocol.
Needs the `migrate` extra (`pip install 'lattice-embed[migrate]'`); importing this package is
cheap, its classes load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_attributes

from .errors import (
    EngineError,
    MigrationConflictError,
    ModelMismatchError,
    RollbackRefusedError,
    StoreError,
)

if TYPE_CHECKING:
    from .engine import Engine, Hit, SearchResult, SpaceStatus, Status, WriteReport, open_store
    from .models import Encoder, EncoderFactory, NativeEncoder
    from .records import (
        Event,
        GateConfig,
        GateReport,
        LabelledQuery,
        MigrationRecord,
        SpaceSpec,
    )
    from .routing import Routing
    from .runner import BackfillRunner, RunReport
    from .store import Store

__all__ = [
    "BackfillRunner",
    "Encoder",
    "EncoderFactory",
    "Engine",
    "EngineError",
    "Event",
    "GateConfig",
    "GateReport",
    "Hit",
    "LabelledQuery",
    "MigrationConflictError",
    "MigrationRecord",
    "ModelMismatchError",
    "NativeEncoder",
    "RollbackRefusedError",
    "Routing",
    "RunReport",
    "SearchResult",
    "SpaceSpec",
    "SpaceStatus",
    "Status",
    "Store",
    "StoreError",
    "WriteReport",
    "open_store",
]

_LAZY = {
    **dict.fromkeys(["Engine", "Hit", "SearchResult", "SpaceStatus", "Status", "WriteReport",
                     "open_store"], ".engine"),
    **dict.fromkeys(["Encoder", "EncoderFactory", "NativeEncoder"], ".models"),
    **dict.fromkeys(["Event", "GateConfig", "GateReport", "LabelledQuery", "MigrationRecord",
                     "SpaceSpec"], ".records"),
    "Routing": ".routing",
    "BackfillRunner": ".runner",
    "RunReport": ".runner",
    "Store": ".store",
}


__getattr__ = lazy_attributes(__name__, _LAZY, globals())
