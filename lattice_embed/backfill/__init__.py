"""Backfilling a new model's embeddings while the old ones keep serving: request and query
routing, batch sizing, and the post-cutover rollback window.

A faithful port of lattice-embed's `backfill` module (0.2.2, with the 0.4.0 batch sizing
net of skips). Pure Python, in memory; the caller does the embedding and the storage.
"""

from .coordinator import BackfillCoordinator
from .types import BackfillConfig, EmbeddingRoute, EmbeddingRoutingConfig, RoutingPhase

__all__ = [
    "BackfillConfig",
    "BackfillCoordinator",
    "EmbeddingRoute",
    "EmbeddingRoutingConfig",
    "RoutingPhase",
]
