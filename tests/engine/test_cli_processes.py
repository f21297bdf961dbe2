"""The engine as a user runs it: the `lattice-embed` CLI in real processes on real stores (SQLite
files and PostgreSQL databases), with the real all-MiniLM-L6-v2 and a CLS-pooled folder of it.
Crash safety by SIGKILL, writers in other processes and threads, control from a second process."""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from pathlib import Path

from lattice_embed.engine import Engine

from .helpers import assert_event_log_whole, live_documents, space_vectors
from .processes import (
    CORPUS,
    Stores,
    assert_spaces_match_documents,
    cli,
    jsonl,
    start,
    status,
    wait_for_progress,
)


def test_the_whole_job_on_the_command_line(db: str, setup: dict[str, Path]) -> None:
    found = json.loads(cli("search", "--db", str(db), "-k", "3", "--json",
                           "baking bread at home").stdout)
    assert list(found) == ["model", "results"] and found["model"] == "all-minilm-l6-v2"
    assert [list(hit) for hit in found["results"]] == [["id", "score"]] * 3
    assert isinstance(found["results"][0]["score"], float)
    plan = cli("migrate", "plan", "--db", str(db), "--to", str(setup["cls"]), "--batch-size",
               "50", "--gate-overlap", "0.2")
    assert f"{CORPUS} documents" in plan.stdout
    before = status(db)
    assert before["state"] == "Planned" and before["total"] == CORPUS
    done = cli("migrate", "run", "--db", str(db), "--no-progress")
    assert "completed" in done.stdout and "cut over" in done.stdout
    after = status(db)
    for key in ("state", "processed", "skipped", "total", "source_model", "target_model",
                "query_model", "write_models", "phase", "gate"):
        assert key in after, key
    assert (after["state"], after["processed"], after["skipped"]) == ("Completed", CORPUS, 0)
    assert after["query_model"] == after["target_model"] == str(setup["cls"])
    assert after["write_models"] == ["all-minilm-l6-v2", str(setup["cls"])]
    assert after["phase"] == "rollback_window"
    gate = after["gate"]
    assert isinstance(gate, dict) and gate["passed"] and 0.2 <= gate["overlap"] <= 1.0
    exported = [json.loads(line) for line in
                cli("index", "export", "--db", str(db)).stdout.splitlines()]
    assert len(exported) == CORPUS and len(exported[0]["vector"]) == 384
    assert len({row["id"] for row in exported}) == CORPUS
    cli("migrate", "rollback", "--db", str(db))
    assert status(db)["query_model"] == "all-minilm-l6-v2"
    cli("migrate", "finalize", "--db", str(db))
    assert [s["name"] for s in status(db)["spaces"]] == ["all-minilm-l6-v2"]  # type: ignore


def test_user_errors_are_one_line_with_status_2(db: str, setup: dict[str, Path],
                                                 tmp_path: Path) -> None:
    cases = [
        (["index", "add", "--db", str(db)], '{"id": "x", "text": "fine"}\n{"id": 3}\n',
         "line 2"),
        (["index", "add", "--db", str(db)], '{"id": "x", "text": "\\ud800"}\n',
         "not valid Unicode"),
        (["search", "--db", str(tmp_path / "no" / "such.db"), "text"], None, "does not exist"),
        (["migrate", "plan", "--db", str(db), "--to", "no-such-model"], None, "unknown"),
        (["migrate", "plan", "--db", str(db), "--to", "./missing-folder"], None,
         "does not exist"),
        (["migrate", "run", "--db", str(db)], None, "no migration is open"),
        (["migrate", "cutover", "--db", str(db)], None, "no migration is open"),
    ]
    for args, stdin, message in cases:
        done = cli(*args, stdin=stdin, check=False)
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and message in done.stderr, done.stderr
    not_a_store = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(not_a_store).execute("CREATE TABLE users (name TEXT)")
    done = cli("search", "--db", str(not_a_store), "x", check=False)
    assert done.returncode == 2 and "not a lattice_embed store" in done.stderr
    assert status(db)["documents"] == CORPUS  # the bad input wrote nothing


def test_killed_at_random_instants_the_backfill_loses_and_repeats_nothing(
    db: str, setup: dict[str, Path]
) -> None:
    cli("migrate", "plan", "--db", str(db), "--to", str(setup["cls"]), "--batch-size", "4")
    rng = random.Random(2026)
    deleted: set[str] = set()
    kills = 0
    while kills < 20:
        # Slowed down so that 20 kills land before the end, at every stage of a run:
        # starting up, embedding, committing, waiting for the rate limit.
        runner = start("migrate", "run", "--db", str(db), "--rate", "20", "--no-progress",
                       output=False)
        time.sleep(rng.uniform(0.4, 1.6))
        if runner.poll() is not None:  # finished before this kill: the job is done
            break
        runner.send_signal(signal.SIGKILL)
        runner.wait()
        kills += 1
        if kills % 5 == 0:  # writes between crashes: an update and a delete
            victim = f"doc-{rng.randrange(CORPUS)}"
            cli("index", "delete", "--db", str(db), victim)
            deleted.add(victim)
            cli("index", "add", "--db", str(db),
                stdin=jsonl({f"doc-{rng.randrange(CORPUS)}": f"rewritten after kill {kills}"}))
    assert kills >= 15, "the backfill ran too fast to be killed mid-run"
    done = cli("migrate", "run", "--db", str(db), "--no-progress")
    assert "completed" in done.stdout, done.stdout
    final = status(db)
    assert final["processed"] + final["skipped"] == final["total"] == CORPUS  # type: ignore
    engine = Engine.open(db)
    try:
        assert not deleted & set(live_documents(engine))
        for name in (str(setup["cls"]), "all-minilm-l6-v2"):
            assert not deleted & set(space_vectors(engine, name))
        assert_event_log_whole(engine)
        # Kills landed mid-run (a kill during start-up logs nothing): runs resumed partway.
        resumed = [e for e in engine.events() if e.kind == "run"]
        assert len(resumed) >= kills // 2 and "joined at 0/" not in resumed[-1].reason
    finally:
        engine.close()
    assert_spaces_match_documents(db, setup)


def test_writers_in_other_processes_and_threads_during_the_backfill(
    db: str, setup: dict[str, Path]
) -> None:
    cli("migrate", "plan", "--db", str(db), "--to", str(setup["cls"]), "--batch-size", "10",
        "--rollback-window", "3600")
    runner = start("migrate", "run", "--db", str(db), "--rate", "150", "--no-progress")
    rng = random.Random(7)
    errors: list[BaseException] = []

    def thread_writer(seed: int) -> None:
        mine = random.Random(seed)
        engine = Engine.open(db, threads=1)
        try:
            for step in range(8):
                doc = f"doc-{mine.randrange(CORPUS)}"
                if mine.random() < 0.3:
                    engine.delete([doc])
                else:
                    engine.add({doc: f"thread {seed} rewrote this, step {step}",
                                f"thread-{seed}-{step}": "a new note from a thread"})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            engine.close()

    threads = [threading.Thread(target=thread_writer, args=(seed,)) for seed in range(2)]
    for thread in threads:
        thread.start()
    for step in range(4):  # a writer process at a time, alongside the threads
        batch = {f"doc-{rng.randrange(CORPUS)}": f"process write {step}",
                 f"proc-{step}": "added by another process"}
        cli("index", "add", "--db", str(db), stdin=jsonl(batch))
        cli("index", "delete", "--db", str(db), f"doc-{rng.randrange(CORPUS)}")
    for thread in threads:
        thread.join()
    assert not errors, errors
    out, err = runner.communicate(timeout=300)
    assert runner.returncode == 0, err
    assert status(db)["processed"] + status(db)["skipped"] == CORPUS  # type: ignore
    assert_spaces_match_documents(db, setup)


def test_pause_resume_and_cancel_from_a_second_process(db: str, setup: dict[str, Path]) -> None:
    cli("migrate", "plan", "--db", str(db), "--to", str(setup["cls"]), "--batch-size", "10")
    # 20 texts/s: a run takes 12 s, long enough for a pause or cancel to land in the middle
    runner = start("migrate", "run", "--db", str(db), "--rate", "20", "--no-progress")
    wait_for_progress(db, runner)
    cli("migrate", "pause", "--db", str(db), "--reason", "nightly batch window is over")
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 1
    assert err.strip().splitlines()[-1].endswith("nightly batch window is over"), err
    paused = status(db)
    assert paused["state"] == "Paused" and 0 < paused["processed"] < CORPUS  # type: ignore
    again = cli("migrate", "run", "--db", str(db), check=False)
    assert again.returncode == 1 and "paused" in again.stderr
    cli("migrate", "resume", "--db", str(db))
    runner = start("migrate", "run", "--db", str(db), "--rate", "20", "--no-progress")
    wait_for_progress(db, runner, beyond=paused["processed"])
    cli("migrate", "cancel", "--db", str(db))
    _, err = runner.communicate(timeout=120)
    assert runner.returncode == 1 and "cancelled" in err
    cancelled = status(db)
    assert cancelled["state"] == "Cancelled" and cancelled["query_model"] == "all-minilm-l6-v2"
    assert cancelled["write_models"] == ["all-minilm-l6-v2"]
    kinds = [json.loads(line)["kind"] for line in
             cli("migrate", "events", "--db", str(db), "--json").stdout.splitlines()]
    assert kinds[:3] == ["planned", "started", "paused"] and kinds[-1] == "cancelled"
    assert "resumed" in kinds


def test_rollback_inside_the_window_and_refused_after_it(db: str, setup: dict[str, Path],
                                                         stores: Stores) -> None:
    second = stores.fresh()
    for path, window in ((db, "60"), (second, "1")):
        cli("migrate", "plan", "--db", path, "--to", str(setup["cls"]),
            "--rollback-window", window, "--batch-size", "60")
        cli("migrate", "run", "--db", path, "--no-progress")
    cli("migrate", "rollback", "--db", db)  # inside its 60 s
    assert status(db)["query_model"] == "all-minilm-l6-v2"
    time.sleep(1.5)  # the window is wall-clock time: it closes while nothing runs
    refused = cli("migrate", "rollback", "--db", second, check=False)
    assert refused.returncode == 2
    assert "rollback window of 1 s" in refused.stderr and "closed" in refused.stderr
    assert status(second)["query_model"] == str(setup["cls"])


def test_resuming_with_another_target_model_is_refused(db: str, setup: dict[str, Path],
                                                       tmp_path: Path) -> None:
    target = tmp_path / "target-model"
    cli("model", "derive", "all-minilm-l6-v2", str(target), "--pooling", "cls")
    cli("migrate", "plan", "--db", str(db), "--to", str(target), "--batch-size", "10")
    runner = start("migrate", "run", "--db", str(db), "--rate", "20", "--no-progress")
    wait_for_progress(db, runner)
    cli("migrate", "pause", "--db", str(db))
    runner.communicate(timeout=120)
    cli("migrate", "resume", "--db", str(db))
    before = status(db)
    pooling = target / "1_Pooling" / "config.json"  # someone re-pools the folder in place
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_cls_token=False, pooling_mode_mean_tokens=True)
    pooling.write_text(json.dumps(config))
    refused = cli("migrate", "run", "--db", str(db), check=False)
    assert refused.returncode == 2 and "spaces are never mixed" in refused.stderr
    space = next(s for s in before["spaces"] if s["name"] == str(target))  # type: ignore
    assert space["fingerprint"][:12] in refused.stderr
    assert status(db)["processed"] == before["processed"]
