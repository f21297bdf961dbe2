"""Shared fixtures for the pure-Python layers: a fake clock and a standard plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lattice_embed import EmbeddingModel
from lattice_embed.migration import MigrationPlan

FIXTURES = Path(__file__).parent / "fixtures"


class FakeClock:
    """A monotonic clock that moves only when a test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def load_fixture() -> Any:
    """Load a hand-written Rust-format JSON file from tests/layers/fixtures."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load


def make_plan(total: int = 1000, plan_id: str = "test-migration-001") -> MigrationPlan:
    return MigrationPlan(
        id=plan_id,
        source_model=EmbeddingModel.BGE_SMALL_EN_V15,
        target_model=EmbeddingModel.BGE_BASE_EN_V15,
        total_embeddings=total,
        batch_size=100,
        created_at="2026-01-27T00:00:00Z",
    )


@pytest.fixture
def plan() -> MigrationPlan:
    """The original tests' plan: bge-small -> bge-base, 1000 embeddings."""
    return make_plan()


@pytest.fixture
def plan_factory() -> Any:
    return make_plan
