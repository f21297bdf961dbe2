"""Fixtures for the engine tests: stores (every kind the conformance suite covers), a fake wall
clock, model-free encoders, and engines made of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lattice_embed.engine import Engine, Store
from lattice_embed.engine.sqlite_store import SQLiteStore

from .encoders import HashEncoder, factory

STORES = ["sqlite"]


class WallClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the test's store (a new handle each call, as another process would)."""
    opened: list[Store] = []

    def make() -> Store:
        store = SQLiteStore(tmp_path / "store.db")
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(make_store: Callable[[], Store]) -> Store:
    return make_store()


@pytest.fixture
def models() -> tuple[HashEncoder, HashEncoder]:
    return HashEncoder("model-a", 16), HashEncoder("model-b", 24)


@pytest.fixture
def make_engine(
    make_store: Callable[[], Store], models: tuple[HashEncoder, HashEncoder], clock: WallClock
) -> Callable[..., Engine]:
    def make(**options: object) -> Engine:
        return Engine(make_store(), encoders=factory(*models), clock=clock, **options)

    return make


@pytest.fixture
def engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine()
