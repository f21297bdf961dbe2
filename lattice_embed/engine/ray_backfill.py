"""The backfill spread over Ray actors, with the store as the only coordinator.

`run_on_ray(location, workers=N)` starts N actors (or uses a running cluster at `address`), each
holding one encoder with `threads` threads and running an ordinary `BackfillRunner` against the
same store: they lease batches from its work queue, so they share the work without any
coordination through Ray, and every guarantee of the single runner holds (one transaction per
batch, a batch done twice writes and counts once). A worker that dies loses its lease: its
siblings on the same host take the batch over at once, elsewhere after the lease expires; Ray
restarts the actor and retries its run. The driver shows the store's progress and, once the
backfill is complete, measures the gate and cuts over.

A local cluster (no `address`) listens and talks on 127.0.0.1 only (`_loopback_only`), keeps its
files in `temp_dir` (by default a new temporary folder, removed after) and is shut down at the
end. The store must be reachable from every worker: PostgreSQL for a real cluster (a SQLite
file works when every worker is on this machine).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Any

import msgspec

from .engine import Engine
from .errors import EngineError, MigrationConflictError
from .routing import counts, port_state
from .runner import BackfillRunner, RunReport

__all__ = ["run_on_ray"]

_OBJECT_STORE_BYTES = 100 * 1024 * 1024
"""The actors exchange only small reports: a small object store spares /dev/shm."""


class BackfillWorker:
    """One Ray actor: an engine on the store, one encoder, a runner that does not cut over."""

    def __init__(self, location: str, threads: int | None, rate: float | None,
                 lease_secs: float) -> None:
        self.engine = Engine.open(location, threads=threads)
        self.rate, self.lease_secs = rate, lease_secs

    def run(self) -> dict[str, Any]:
        runner = BackfillRunner(self.engine, progress=False, rate=self.rate,
                                lease_secs=self.lease_secs, finish=False)
        report = runner.run()
        return {"pid": os.getpid(), "owner": runner.owner, **msgspec.to_builtins(report)}


def _loopback_only() -> None:
    """Make a local cluster listen and talk on 127.0.0.1 only.

    Ray 2.60 replaces a node address of 127.0.0.1 (`_node_ip_address`, `--node-ip-address`)
    with the machine's own address, so its servers listen on every interface and its agents
    on the machine's address. With RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 Ray treats the machine
    as a single-node cluster, as it does on macOS: the node address is 127.0.0.1 and every
    server binds to it. Ray reads the setting when it is imported; its processes inherit it.
    """
    if "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


def _init_ray(address: str | None, temp_dir: str | None, workers: int, threads: int) -> bool:
    """Connect to `address`, or start a local cluster on 127.0.0.1; True if started here."""
    import ray

    if ray.is_initialized():
        return False
    quiet: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                             "logging_level": logging.WARNING}
    if address is not None:
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=max(os.cpu_count() or 1, workers * threads),
                 _node_ip_address="127.0.0.1", _temp_dir=temp_dir,
                 object_store_memory=_OBJECT_STORE_BYTES, **quiet)
    return True


def run_on_ray(
    location: str,
    *,
    address: str | None = None,
    workers: int = 2,
    threads: int = 1,
    rate: float | None = None,
    progress: bool | None = None,
    lease_secs: float = 120.0,
    temp_dir: str | None = None,
) -> RunReport:
    """Run the open migration's backfill of the store at `location` on `workers` Ray actors
    of `threads` encoder threads each; see the module docstring. `rate` is the total for all
    workers. Returns the driver's report (outcome, counts, and the workers' batches and
    vectors written)."""
    if workers < 1 or threads < 1:
        raise ValueError(f"workers and threads must be at least 1, got {workers} and {threads}")
    engine = Engine.open(location, threads=threads)
    try:
        record = engine.migration()
        if record is None or record.finalized_at is not None:
            raise MigrationConflictError("no migration is open: plan one first "
                                         "(lattice-embed migrate plan --to MODEL)")
        engine.encoder(engine.views(record)[1])  # a model that is not the target's: refused
        if port_state(record).RUST_NAME not in ("Planned", "InProgress"):  # the first worker
            return BackfillRunner(engine, progress=False).conclude(record)  # starts a plan
        if address is None:
            _loopback_only()
        import ray
        from ray.exceptions import RayError

        owned = (tempfile.mkdtemp(prefix="lattice-ray-") if address is None and temp_dir is None
                 else None)  # a folder of our own for a local cluster's files, removed after
        started = False
        try:
            started = _init_ray(address, temp_dir or owned, workers, threads)
            actor: Any = ray.remote(num_cpus=threads, max_restarts=3, max_task_retries=3)(
                BackfillWorker)
            each = None if rate is None else rate / workers
            actors = [actor.remote(location, threads, each, lease_secs) for _ in range(workers)]
            pending: list[Any] = [worker.run.remote() for worker in actors]
            results: list[dict[str, Any]] = []
            failures: list[str] = []
            bar = _Progress(engine, progress)
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                for ref in done:
                    try:
                        results.append(ray.get(ref))
                    except RayError as error:  # an actor that died more often than Ray restarts
                        failures.append(" ".join(str(error).split())[:300])
                bar.update()
            bar.close()
        finally:
            if started:
                ray.shutdown()
            if owned is not None:
                _remove(owned)
        record = engine.migration() or record
        if failures and port_state(record).RUST_NAME == "InProgress":
            raise EngineError(f"{len(failures)} of {workers} Ray workers failed for good "
                              f"({failures[0]}); migrate run resumes")
        report = BackfillRunner(engine, progress=False).conclude(record)
        return msgspec.structs.replace(
            report, batches=sum(r["batches"] for r in results),
            written=sum(r["written"] for r in results),
            retries=sum(r["retries"] for r in results),
            message=f"{report.message} ({workers} Ray workers, batches: "
                    + ", ".join(str(r["batches"]) for r in results) + ")")
    finally:
        engine.close()


def _remove(folder: str) -> None:
    """Remove the cluster's temporary folder; its last processes may still be writing logs as
    they stop, so an attempt that leaves something behind is repeated for a few seconds."""
    deadline = time.monotonic() + 10
    while os.path.exists(folder) and time.monotonic() < deadline:
        shutil.rmtree(folder, ignore_errors=True)
        if os.path.exists(folder):
            time.sleep(0.2)


class _Progress:
    """The driver's bar: the store's counts, whichever worker made them."""

    def __init__(self, engine: Engine, enabled: bool | None) -> None:
        self.engine = engine
        self.bar: Any = None
        if enabled if enabled is not None else sys.stderr.isatty():
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

            record = engine.migration()
            assert record is not None
            processed, skipped, total = counts(record)
            self.bar = tqdm(total=total, initial=processed + skipped, unit="doc",
                            desc=f"{record.target} (Ray)", file=sys.stderr, smoothing=0.1)
        self._last = 0.0

    def update(self) -> None:
        if self.bar is None or time.monotonic() - self._last < 0.5:
            return
        self._last = time.monotonic()
        record = self.engine.migration()
        if record is not None:
            processed, skipped, _ = counts(record)
            self.bar.update(processed + skipped - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self._last = 0.0
            self.update()
            self.bar.close()
