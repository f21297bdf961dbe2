"""Test helpers shared by the layer tests: a fake clock and the standard plan."""

from __future__ import annotations

from lattice_embed import EmbeddingModel
from lattice_embed.migration import MigrationPlan


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_plan(total: int = 1000, plan_id: str = "test-migration-001") -> MigrationPlan:
    return MigrationPlan(
        id=plan_id,
        source_model=EmbeddingModel.BGE_SMALL_EN_V15,
        target_model=EmbeddingModel.BGE_BASE_EN_V15,
        total_embeddings=total,
        batch_size=100,
        created_at="2026-01-27T00:00:00Z",
    )
