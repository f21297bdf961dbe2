"""Running the `lattice-embed` CLI in real processes, and the stores and models those tests use:
the packaged corpus on all-MiniLM-L6-v2, and a second model made offline from the same weights
with CLS pooling (`lattice-embed model derive`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lattice_embed.engine import Engine
from lattice_embed.engine.models import NativeEncoder

from .conftest import postgres_admin
from .helpers import live_documents, space_vectors

CORPUS = 240


def cli(*args: str, stdin: str | None = None, check: bool = True, timeout: float = 300,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`lattice-embed ARGS` in a new process, as a user would run it (`env`: added to ours)."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_EMBED_NUM_THREADS": "1",
                   **(env or {})}
    environment.pop("PYTHONPATH", None)
    done = subprocess.run([sys.executable, "-m", "lattice_embed", *args], input=stdin,
                          capture_output=True, text=True, env=environment, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"lattice-embed {' '.join(args)} exited {done.returncode}:\n"
                             f"{done.stderr}")
    return done


def start(*args: str, output: bool = True, env: dict[str, str] | None = None,
          session: bool = False) -> subprocess.Popen[str]:
    """`lattice-embed ARGS` in the background (`output`: its stdout and stderr are kept for
    `communicate`; `session`: in a session of its own, with every process it starts)."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_EMBED_NUM_THREADS": "1",
                   **(env or {})}
    environment.pop("PYTHONPATH", None)
    pipe = subprocess.PIPE if output else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "lattice_embed", *args], text=True,
                            env=environment, stdout=pipe, stderr=pipe,
                            start_new_session=session)


def jsonl(docs: dict[str, str]) -> str:
    return "".join(json.dumps({"id": k, "text": v}) + "\n" for k, v in docs.items())


class Stores:
    """Fresh stores holding the indexed corpus: SQLite files, or PostgreSQL databases made from
    a template database indexed once."""

    def __init__(self, kind: str, setup: dict[str, Path], request: pytest.FixtureRequest,
                 tmp_path: Path) -> None:
        self.kind, self.setup, self.tmp_path = kind, setup, tmp_path
        self.server: Any = request.getfixturevalue("postgres_server") if kind == "postgres" \
            else None
        self.made: list[str] = []

    def _template(self) -> str:
        name = "cli_corpus"
        if name not in _TEMPLATES:
            postgres_admin(self.server, f"CREATE DATABASE {name}")
            cli("index", "add", "--db", self.server.get_uri(name),
                stdin=(self.setup["folder"] / "docs.jsonl").read_text())
            _TEMPLATES.add(name)
        return name

    def fresh(self) -> str:
        if self.kind == "sqlite":
            path = self.tmp_path / f"store-{len(self.made)}.db"
            shutil.copyfile(self.setup["base"], path)
            self.made.append(str(path))
            return str(path)
        name = f"cli_{uuid.uuid4().hex[:10]}"
        postgres_admin(self.server, f"CREATE DATABASE {name} TEMPLATE {self._template()}")
        self.made.append(name)
        return str(self.server.get_uri(name))

    def drop(self) -> None:
        if self.server is not None:
            for name in self.made:
                postgres_admin(self.server, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_TEMPLATES: set[str] = set()


def models(setup: dict[str, Path]) -> tuple[NativeEncoder, NativeEncoder]:
    return NativeEncoder("all-minilm-l6-v2"), NativeEncoder(str(setup["cls"]))


def assert_spaces_match_documents(db: str, setup: dict[str, Path], spaces: int = 2) -> None:
    """Every live document has one vector per space, equal (cosine >= 0.9999) to embedding its
    current text directly with that space's model; no other document has one."""
    engine = Engine.open(db)
    try:
        docs = live_documents(engine)
        for encoder in models(setup)[:spaces] if spaces == 2 else models(setup)[1:]:
            vectors = space_vectors(engine, encoder.spec.name)
            assert set(vectors) == set(docs), (encoder.spec.name, set(docs) ^ set(vectors))
            ids = sorted(docs)
            expected = encoder.embed_documents([docs[i] for i in ids])
            stored = np.stack([vectors[i] for i in ids])
            cosines = (expected * stored).sum(1) / (np.linalg.norm(expected, axis=1)
                                                   * np.linalg.norm(stored, axis=1))
            assert cosines.min() >= 0.9999, (encoder.spec.name, ids[int(cosines.argmin())])
    finally:
        engine.close()


def status(db: str) -> dict[str, Any]:
    return json.loads(cli("migrate", "status", "--db", str(db), "--json").stdout)


def wait_for_progress(db: str, runner: subprocess.Popen[str], beyond: int = 0,
                      timeout: float = 180) -> int:
    """Waits until the backfill `runner` drives has processed more than `beyond` documents, and
    returns the count: a command sent then finds the run under way, however slowly a loaded
    machine starts processes."""
    deadline = time.monotonic() + timeout
    while (processed := int(status(db)["processed"])) <= beyond:
        assert runner.poll() is None, f"the run ended first: {runner.communicate()}"
        assert time.monotonic() < deadline, f"no document processed past {beyond} in {timeout} s"
        time.sleep(0.2)
    return processed


