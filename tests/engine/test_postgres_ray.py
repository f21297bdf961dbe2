"""The engine on real infrastructure: PostgreSQL with pgvector (from the pgserver wheel) and a
local Ray cluster bound to 127.0.0.1, both started by the tests. Bad URLs and servers, a role
that cannot install pgvector, two drivers sharing one database, Ray workers and a Ray driver
killed mid-run, and search through pgvector."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from lattice_embed.engine import Engine, StoreError
from lattice_embed.engine.postgres_store import PostgresStore

from ..conftest import require_module
from .conftest import postgres_admin
from .helpers import assert_event_log_whole
from .processes import CORPUS, Stores, assert_spaces_match_documents, cli, start, status


@pytest.fixture
def pg(request: pytest.FixtureRequest, setup: dict[str, Path], tmp_path: Path) -> Iterator[Stores]:
    made = Stores("postgres", setup, request, tmp_path)
    yield made
    made.drop()


@pytest.fixture
def ray_tmp() -> Iterator[Path]:
    """A TMPDIR for Ray's files (short: its sockets live there, and a Unix socket path has at
    most 107 bytes); afterwards no process that uses it may be left running."""
    require_module("ray")
    folder = Path(tempfile.mkdtemp(prefix="lr-", dir="/tmp"))
    yield folder
    deadline = time.monotonic() + 20  # ray.shutdown() stops its processes asynchronously
    while (leftovers := _processes_using(folder)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in leftovers:
        process.kill()
    psutil.wait_procs(leftovers, timeout=10)
    shutil.rmtree(folder, ignore_errors=True)
    assert not leftovers, f"Ray processes were left running: {leftovers}"


def _processes_using(folder: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(process.info["cmdline"] or []) + " " + " ".join(
                f"{k}={v}" for k, v in (process.info["environ"] or {}).items())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if str(folder) in text and process.pid != os.getpid():
            found.append(process)
    return found


def _listening(folder: Path) -> list[tuple[str, str]]:
    """(address, process name) of every TCP socket listened on by the processes using `folder`."""
    pids = {process.pid: process.name() for process in _processes_using(folder)}
    return [(conn.laddr.ip, pids[conn.pid]) for conn in psutil.net_connections(kind="inet")
            if conn.status == psutil.CONN_LISTEN and conn.pid in pids]


def _lease_owner_pids(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT DISTINCT owner FROM lattice_embed.batches "
                            "WHERE NOT done AND owner IS NOT NULL").fetchall()
    return [int(owner.split(":")[1]) for (owner,) in rows]


def _wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_bad_urls_and_servers_are_one_line_errors(postgres_server: Any, tmp_path: Path) -> None:
    for url, message in [
        ("postgresql://postgres@127.0.0.1:1/postgres", "cannot open store"),
        (f"postgresql://postgres@/postgres?host={tmp_path}/no-server-here", "cannot open store"),
        ("postgresql://postgres@/postgres?host=/tmp&sslmode=nonsense", "cannot open store"),
    ]:
        done = cli("migrate", "status", "--db", url, check=False)
        assert done.returncode == 2, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr
    secret = "postgresql://postgres:hunter2@127.0.0.1:1/postgres"
    done = cli("search", "--db", secret, "x", check=False)
    assert done.returncode == 2 and "hunter2" not in done.stderr and ":***@" in done.stderr


def test_a_role_that_cannot_install_pgvector_gets_a_clear_error(postgres_server: Any) -> None:
    name = "no_vector_db"
    postgres_admin(postgres_server, "DROP DATABASE IF EXISTS no_vector_db WITH (FORCE)")
    postgres_admin(postgres_server, "DROP ROLE IF EXISTS plain_role")
    postgres_admin(postgres_server, "CREATE ROLE plain_role LOGIN NOSUPERUSER")
    postgres_admin(postgres_server, f"CREATE DATABASE {name} OWNER plain_role")
    url = re.sub(r"postgresql://[^@]*@", "postgresql://plain_role@",
                 postgres_server.get_uri(name))
    done = cli("index", "add", "--db", url, stdin='{"id": "a", "text": "x"}\n', check=False)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "pgvector is not installed in this database" in done.stderr
    assert "CREATE EXTENSION vector" in done.stderr
    import psycopg

    with psycopg.connect(postgres_server.get_uri(name)) as conn:  # nothing was half-written
        assert conn.execute("SELECT count(*) FROM information_schema.schemata "
                            "WHERE schema_name = 'lattice_embed'").fetchone() == (0,)
    postgres_admin(postgres_server, f"DROP DATABASE {name} WITH (FORCE)")


def test_a_schema_of_another_version_is_refused(pg: Stores) -> None:
    url = pg.fresh()
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("UPDATE lattice_embed.meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99; this lattice_embed reads version 1"):
        PostgresStore(url)


def test_search_through_pgvector_agrees_with_the_search_in_memory(pg: Stores) -> None:
    url = pg.fresh()
    with Engine.open(url) as engine:
        for query in ("baking bread at home", "distant galaxies", "who won the game?"):
            memory = engine.search(query, k=5)
            store = engine.search(query, k=5, via="store")
            assert [h.id for h in store.results] == [h.id for h in memory.results]
            for a, b in zip(store.results, memory.results):
                assert a.score == pytest.approx(b.score, abs=1e-5)
        engine.create_index("hnsw")
        approximate = engine.search("baking bread at home", k=5, via="store")
        assert approximate.results[0].id == memory_top(engine, "baking bread at home")
    done = cli("search", "--db", url, "--via", "store", "--json", "-k", "3", "chess")
    assert json.loads(done.stdout)["model"] == "all-minilm-l6-v2"


def memory_top(engine: Engine, query: str) -> str:
    return engine.search(query, k=1).results[0].id


def test_two_drivers_on_one_database_share_the_work(pg: Stores, setup: dict[str, Path]) -> None:
    url = pg.fresh()
    cli("migrate", "plan", "--db", url, "--to", str(setup["cls"]), "--batch-size", "8")
    drivers = [start("migrate", "run", "--db", url, "--rate", "40", "--no-progress")
               for _ in range(2)]
    outputs = [driver.communicate(timeout=300) for driver in drivers]
    assert [driver.returncode for driver in drivers] == [0, 0], outputs
    batches = [int(re.search(r"this run: (\d+) batches", out + err).group(1))  # type: ignore
               for out, err in outputs]
    assert all(count > 0 for count in batches) and sum(batches) == CORPUS // 8
    final = status(url)
    assert (final["processed"], final["skipped"], final["total"]) == (CORPUS, 0, CORPUS)
    assert_spaces_match_documents(url, setup)


def plan_and_drive_on_ray(pg: Stores, setup: dict[str, Path], ray_tmp: Path, *, rate: int,
                          **options: bool) -> tuple[str, subprocess.Popen[str]]:
    """A fresh database with a migration to the CLS model planned in batches of 10, and a
    `migrate run --ray` driver of two workers at `rate` texts/s started on it (`options`: see
    `start`), its Ray files in `ray_tmp`."""
    url = pg.fresh()
    cli("migrate", "plan", "--db", url, "--to", str(setup["cls"]), "--batch-size", "10")
    return url, start("migrate", "run", "--db", url, "--ray", "--workers", "2", "--rate",
                      str(rate), "--no-progress", env={"TMPDIR": str(ray_tmp)}, **options)


def test_ray_workers_share_the_backfill(pg: Stores, setup: dict[str, Path],
                                        ray_tmp: Path) -> None:
    url, driver = plan_and_drive_on_ray(pg, setup, ray_tmp, rate=60)
    _wait_for(lambda: _lease_owner_pids(url), 120, "the Ray workers to start")
    listening = _listening(ray_tmp)
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    assert listening and all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip, _ in listening), \
        listening  # a local cluster listens on the loopback interface only
    assert not list(ray_tmp.glob("lattice-ray-*"))  # its files went with it
    counts = re.search(r"2 Ray workers, batches: (\d+), (\d+)", out)
    assert counts is not None, out
    assert all(int(n) > 0 for n in counts.groups()) and sum(map(int, counts.groups())) == 24
    final = status(url)
    assert (final["state"], final["processed"], final["query_model"]) == (
        "Completed", CORPUS, str(setup["cls"]))
    assert_spaces_match_documents(url, setup)


def test_a_ray_worker_killed_mid_batch_loses_nothing(pg: Stores, setup: dict[str, Path],
                                                     ray_tmp: Path) -> None:
    url, driver = plan_and_drive_on_ray(pg, setup, ray_tmp, rate=40)
    victim = _wait_for(lambda: _lease_owner_pids(url), 120, "a Ray worker to lease a batch")[0]
    os.kill(victim, signal.SIGKILL)
    out, err = driver.communicate(timeout=600)
    assert driver.returncode == 0, err
    assert not psutil.pid_exists(victim) or psutil.Process(victim).status() == "zombie"
    final = status(url)
    assert (final["processed"] + final["skipped"], final["total"]) == (CORPUS, CORPUS)
    with Engine.open(url) as engine:
        assert_event_log_whole(engine)
        owners = {m.group(1) for e in engine.events()
                  if (m := re.search(r"runner (\S+)", e.reason))}
    assert any(f":{victim}:" in owner for owner in owners) and len(owners) >= 3  # restarted
    assert_spaces_match_documents(url, setup)


def test_a_killed_ray_driver_resumes_where_it_stopped(pg: Stores, setup: dict[str, Path],
                                                       ray_tmp: Path) -> None:
    url, driver = plan_and_drive_on_ray(pg, setup, ray_tmp, rate=30, session=True, output=False)
    _wait_for(lambda: status(url)["processed"] >= 40, 180, "the backfill to make progress")
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    time.sleep(1.0)
    for process in _processes_using(ray_tmp):  # what Ray leaves behind a killed driver
        process.kill()
    psutil.wait_procs(_processes_using(ray_tmp), timeout=10)
    assert not _processes_using(ray_tmp)
    stopped = status(url)
    assert stopped["state"] == "InProgress" and stopped["processed"] < CORPUS
    resumed = cli("migrate", "run", "--db", url, "--ray", "--workers", "2", "--no-progress",
                  env={"TMPDIR": str(ray_tmp)})
    assert "completed" in resumed.stdout
    final = status(url)
    assert (final["processed"] + final["skipped"], final["total"]) == (CORPUS, CORPUS)
    with Engine.open(url) as engine:
        assert_event_log_whole(engine)
    assert_spaces_match_documents(url, setup)


def test_the_ray_backfill_from_python(pg: Stores, setup: dict[str, Path], ray_tmp: Path) -> None:
    from lattice_embed.engine.ray_backfill import run_on_ray

    url = pg.fresh()
    with Engine.open(url) as engine:
        engine.plan(str(setup["cls"]), batch_size=30)
    report = run_on_ray(url, workers=2, progress=False, temp_dir=str(ray_tmp))
    assert (report.outcome, report.processed, report.batches) == ("completed", CORPUS, 8)
