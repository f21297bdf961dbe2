"""The hub path end to end, against a fake hub on 127.0.0.1 (`HF_ENDPOINT`), never the internet.

Each load runs in a fresh interpreter: huggingface_hub reads `HF_ENDPOINT`, `HF_HUB_CACHE` and
`HF_HUB_OFFLINE` once, at import, so a subprocess is how a real first start sees them. The
download goes through the real code: `NativeEmbeddingService` -> `resolve_model_dir` ->
`huggingface_hub.snapshot_download` -> HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel
from lattice_embed.service.errors import HubUnreachableError, ModelNotFoundError
from lattice_embed.service.model_files import MODEL_FILES, HubPin, sha256_file
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

from .fake_hub import FakeHub, write_tiny_bert

REPO = "lattice-test/tiny-bge"
SHA = "0123456789abcdef0123456789abcdef01234567"

LOAD = """
import json, sys
from lattice_embed.model import EmbeddingModel
from lattice_embed.service.model_files import HubPin
from lattice_embed.service.native import NativeEmbeddingService
repo, sha, pins = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
service = NativeEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15, hub=HubPin(repo, sha, pins))
try:
    vector = service.embed(["the blue river"])[0]
except Exception as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
else:
    print(json.dumps({"source": service.source, "path": str(service.ensure_loaded()),
                      "vector": vector.tolist()}))
"""


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("tokenizers", "safetensors", "huggingface_hub")
    return write_tiny_bert(tmp_path_factory.mktemp("hub") / "tiny")


@pytest.fixture()
def served(model: Path) -> dict[str, bytes]:
    files = {name: (model / name).read_bytes() for name in MODEL_FILES}
    # Files the encoder does not need: a snapshot must not fetch them.
    files["pytorch_model.bin"] = b"\0" * 4096
    files["onnx/model.onnx"] = b"\1" * 2048
    files["README.md"] = b"# tiny\n"
    return files


@pytest.fixture()
def pins(model: Path) -> dict[str, str]:
    return {name: sha256_file(model / name) for name in MODEL_FILES}


@pytest.fixture()
def hub(served: dict[str, bytes]) -> Iterator[FakeHub]:
    with FakeHub(REPO, SHA, served).running() as running:
        yield running


def load(hub: FakeHub, cache: Path, pins: dict[str, str], **env: str) -> dict[str, object]:
    """Run one first start in a subprocess against `hub`; its JSON result."""
    # The child imports lattice_embed as this process did (an install, editable or not): never
    # from a checkout put on its path, which would test the sources instead of the install.
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in {"HF_HUB_OFFLINE", "LATTICE_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME",
                       "PYTHONPATH"}
    }
    environ.update(
        HF_ENDPOINT=hub.endpoint,
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_CACHE=str(cache / "hf"),
        LATTICE_MODEL_CACHE=str(cache / "lattice"),
        **env,
    )
    cache.mkdir(parents=True, exist_ok=True)  # the child's folder: no checkout on its path
    done = subprocess.run(
        [sys.executable, "-c", LOAD, REPO, SHA, json.dumps(pins)],
        env=environ, cwd=cache, capture_output=True, text=True, timeout=120, check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_download_fetches_only_the_model_files_then_works_offline(
    hub: FakeHub, model: Path, pins: dict[str, str], tmp_path: Path
) -> None:
    first = load(hub, tmp_path, pins)
    assert first.get("source") == "hub", first
    snapshot = tmp_path / "hf" / "models--lattice-test--tiny-bge" / "snapshots" / SHA
    assert first["path"] == str(snapshot)
    assert hub.fetched() == set(MODEL_FILES)
    for name in MODEL_FILES:
        assert (snapshot / name).read_bytes() == (model / name).read_bytes()
    # The downloaded model gives the vectors the same folder gives when loaded directly.
    local = NativeEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15, model_dir=model)
    np.testing.assert_array_equal(np.float32(first["vector"]), local.embed(["the blue river"])[0])

    before = len(hub.requests)
    again = load(hub, tmp_path, pins, HF_HUB_OFFLINE="1")
    assert len(hub.requests) == before, hub.requests[before:]
    assert again == first
    lattice_only = load(hub, tmp_path, pins, LATTICE_OFFLINE="1")
    assert len(hub.requests) == before, hub.requests[before:]
    assert lattice_only == first
    online = load(hub, tmp_path, pins)  # a complete cached snapshot needs no request either
    assert len(hub.requests) == before, hub.requests[before:]
    assert online == first


def test_offline_without_a_cached_copy_requests_nothing(
    hub: FakeHub, pins: dict[str, str], tmp_path: Path
) -> None:
    for flag in ("LATTICE_OFFLINE", "HF_HUB_OFFLINE"):
        result = load(hub, tmp_path / flag, pins, **{flag: "1"})
        assert result["error"] == "ModelNotFoundError"
        message = str(result["message"])
        assert f"{REPO}@{SHA} (cache only, offline" in message
        assert str(tmp_path / flag / "lattice" / "bge-small-en-v1.5") in message
    assert hub.requests == []


def test_a_corrupted_download_is_refused_and_removed(
    hub: FakeHub, pins: dict[str, str], tmp_path: Path
) -> None:
    weights = bytearray(hub.files["model.safetensors"])
    weights[-5] ^= 0x40  # one flipped bit in the last tensor
    hub.files["model.safetensors"] = bytes(weights)
    result = load(hub, tmp_path, pins)
    assert result["error"] == "ModelInitializationError"
    message = str(result["message"])
    assert "checksum mismatch for model.safetensors" in message
    assert f"expected sha256 {pins['model.safetensors']}" in message
    snapshot = tmp_path / "hf" / "models--lattice-test--tiny-bge" / "snapshots" / SHA
    assert not (snapshot / "model.safetensors").exists()
    blobs = tmp_path / "hf" / "models--lattice-test--tiny-bge" / "blobs"
    assert blob_names(blobs) == {pins["config.json"], pins["tokenizer.json"]}


def test_an_unknown_repository_is_a_clear_not_found(
    hub: FakeHub, pins: dict[str, str], tmp_path: Path
) -> None:
    hub.repo_id = "lattice-test/other"  # the client still asks for REPO
    result = load(hub, tmp_path, pins)
    assert result["error"] == "ModelNotFoundError"
    assert f"the Hugging Face hub {REPO}@{SHA} (download: " in str(result["message"])


def blob_names(folder: Path) -> set[str]:
    return {path.name for path in folder.iterdir()} if folder.is_dir() else set()


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: a connection is refused at once."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_probe_tells_a_reachable_hub_from_an_unreachable_one(hub: FakeHub) -> None:
    from lattice_embed.service.model_files import hub_unreachable

    assert hub_unreachable(hub.endpoint) is None
    port = _closed_port()
    problem = hub_unreachable(f"http://127.0.0.1:{port}")
    assert problem is not None and problem.startswith(f"127.0.0.1:{port}: ")


def test_an_unreachable_hub_fails_at_once_naming_the_offline_settings(
    pins: dict[str, str], tmp_path: Path
) -> None:
    """No retries (huggingface_hub would retry five times over ~23 s, printing a line each), and
    the first error says how to skip the hub."""
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    environ = {key: value for key, value in os.environ.items()
               if key not in {"HF_HUB_OFFLINE", "LATTICE_OFFLINE", "PYTHONPATH"}}
    environ.update(HF_ENDPOINT=endpoint, HF_HUB_CACHE=str(tmp_path / "hf"),
                   LATTICE_MODEL_CACHE=str(tmp_path / "lattice"))
    done = subprocess.run(
        [sys.executable, "-c", LOAD, REPO, SHA, json.dumps(pins)],
        env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["error"] == "HubUnreachableError", result
    message = str(result["message"])
    assert message.startswith(f"model bge-small-en-v1.5 not found: the Hugging Face hub at "
                              f"{endpoint} cannot be reached (127.0.0.1:"), message
    first_line = message.splitlines()[0]
    assert "LATTICE_OFFLINE=1" in first_line and "HF_HUB_OFFLINE=1" in first_line
    assert "Retry" not in done.stderr, done.stderr
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))


def test_an_unreachable_hub_is_a_model_not_found_error() -> None:
    assert issubclass(HubUnreachableError, ModelNotFoundError)
    assert isinstance(HubUnreachableError("x"), FileNotFoundError)
