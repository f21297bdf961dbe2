"""Fixtures for the pure-Python layers: a fake clock, the standard plan, JSON fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lattice_embed.migration import MigrationPlan

from .helpers import FakeClock, make_plan

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def load_fixture() -> Any:
    """Load a hand-written Rust-format JSON file from tests/layers/fixtures."""

    def load(name: str) -> Any:
        return json.loads((FIXTURES / name).read_text(encoding="utf-8"))

    return load


@pytest.fixture
def plan() -> MigrationPlan:
    """The original tests' plan: bge-small -> bge-base, 1000 embeddings."""
    return make_plan()
