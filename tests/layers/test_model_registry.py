"""The model registry: every fact of every model, names, parsing, serde, MRL configs and
provenance. Expected values are copied from the original crate's `model.rs` table."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import pytest

import lattice_embed
from lattice_embed import (
    DEFAULT_MODEL,
    MIN_MRL_OUTPUT_DIM,
    EmbeddingModel,
    ModelConfig,
    ModelProvenance,
    Pooling,
)
from lattice_embed._serde import snake_case
from lattice_embed.model import provenance_hash

M = EmbeddingModel
BGE_QUERY = "Represent this sentence for searching relevant passages: "
QWEN_QUERY = (
    "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "
)

# member, Rust variant, display, model_id, native dims, max tokens, local, MRL, key version,
# query instruction, document instruction, max instruction bytes, pooling, bert_pooling
REGISTRY = [
    (M.BGE_SMALL_EN_V15, "BgeSmallEnV15", "bge-small-en-v1.5", "BAAI/bge-small-en-v1.5",
     384, 512, True, False, "v1.5", BGE_QUERY, None, 57, Pooling.CLS, Pooling.CLS),
    (M.BGE_BASE_EN_V15, "BgeBaseEnV15", "bge-base-en-v1.5", "BAAI/bge-base-en-v1.5",
     768, 512, True, False, "v1.5", BGE_QUERY, None, 57, Pooling.CLS, Pooling.CLS),
    (M.BGE_LARGE_EN_V15, "BgeLargeEnV15", "bge-large-en-v1.5", "BAAI/bge-large-en-v1.5",
     1024, 512, True, False, "v1.5", BGE_QUERY, None, 57, Pooling.CLS, Pooling.CLS),
    (M.MULTILINGUAL_E5_SMALL, "MultilingualE5Small", "multilingual-e5-small",
     "intfloat/multilingual-e5-small", 384, 512, True, False, "v1.5", "query: ", "passage: ",
     9, Pooling.MEAN, Pooling.MEAN),
    (M.MULTILINGUAL_E5_BASE, "MultilingualE5Base", "multilingual-e5-base",
     "intfloat/multilingual-e5-base", 768, 512, True, False, "v1.5", "query: ", "passage: ",
     9, Pooling.MEAN, Pooling.MEAN),
    (M.QWEN3_EMBEDDING_0_6B, "Qwen3Embedding0_6B", "qwen3-embedding-0.6b",
     "Qwen/Qwen3-Embedding-0.6B", 1024, 8192, True, True, "v3", QWEN_QUERY, None, 92,
     Pooling.LAST_TOKEN, None),
    (M.QWEN3_EMBEDDING_4B, "Qwen3Embedding4B", "qwen3-embedding-4b", "Qwen/Qwen3-Embedding-4B",
     2560, 8192, True, True, "v3", QWEN_QUERY, None, 92, Pooling.LAST_TOKEN, None),
    (M.ALL_MINILM_L6_V2, "AllMiniLmL6V2", "all-minilm-l6-v2",
     "sentence-transformers/all-MiniLM-L6-v2", 384, 256, True, False, "v2", None, None, 0,
     Pooling.MEAN, Pooling.MEAN),
    (M.PARAPHRASE_MULTILINGUAL_MINILM_L12_V2, "ParaphraseMultilingualMiniLmL12V2",
     "paraphrase-multilingual-minilm-l12-v2",
     "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", 384, 128, True, False,
     "v2", None, None, 0, Pooling.MEAN, Pooling.MEAN),
    (M.TEXT_EMBEDDING_3_SMALL, "TextEmbedding3Small", "text-embedding-3-small",
     "text-embedding-3-small", 1536, 8191, False, False, "v3", None, None, 0, None, None),
]  # fmt: skip


@pytest.mark.parametrize("row", REGISTRY, ids=lambda row: row[0].name)
def test_every_fact_of_every_model(row: tuple[Any, ...]) -> None:
    (model, rust_name, display, model_id, dims, tokens, local, mrl, key_version, query,
     document, instruction_bytes, pooling, bert_pooling) = row  # fmt: skip
    assert model.rust_name == rust_name
    assert model.display_name == display
    assert str(model) == display
    assert f"{model}" == display
    assert model.model_id == model_id
    assert model.native_dimensions == dims
    assert model.dimensions == dims
    assert model.max_input_tokens == tokens
    assert model.is_local is local
    assert model.is_remote is (not local)
    assert model.supports_output_dim is mrl
    assert model.key_version == key_version
    assert model.query_instruction == query
    assert model.document_instruction == document
    assert model.max_instruction_bytes == instruction_bytes
    assert model.pooling is pooling
    assert model.bert_pooling is bert_pooling


def test_registry_has_the_original_ten_models_in_order() -> None:
    assert list(EmbeddingModel) == [row[0] for row in REGISTRY]


def test_instruction_bytes_count_utf8_bytes_of_the_longer_instruction() -> None:
    assert len(BGE_QUERY.encode()) == 57
    assert len(QWEN_QUERY.encode()) == 92
    e5 = EmbeddingModel.MULTILINGUAL_E5_SMALL
    assert e5.max_instruction_bytes == len("passage: ") > len("query: ")


def test_bge_and_e5_pool_differently() -> None:
    assert M.BGE_SMALL_EN_V15.pooling != M.MULTILINGUAL_E5_SMALL.pooling


def test_default_model_is_minilm_because_its_weights_install_offline() -> None:
    assert DEFAULT_MODEL is EmbeddingModel.ALL_MINILM_L6_V2
    assert EmbeddingModel.default() is DEFAULT_MODEL
    assert ModelConfig.default() == ModelConfig(EmbeddingModel.ALL_MINILM_L6_V2, None)
    assert "bge-small-en-v1.5" in (lattice_embed.model.__doc__ or "")


def test_repr_is_short_and_names_the_member() -> None:
    assert repr(M.QWEN3_EMBEDDING_4B) == "<EmbeddingModel.QWEN3_EMBEDDING_4B: 'qwen3-embedding-4b'>"


# -- parsing ----------------------------------------------------------------------------

ALIASES = {
    M.BGE_SMALL_EN_V15: ["bge-small-en-v1.5", "bge-small-en", "bge-small", "small",
                         "BAAI/bge-small-en-v1.5"],
    M.BGE_BASE_EN_V15: ["bge-base-en-v1.5", "bge-base-en", "bge-base", "base",
                        "BAAI/bge-base-en-v1.5"],
    M.BGE_LARGE_EN_V15: ["bge-large-en-v1.5", "bge-large-en", "bge-large", "large",
                         "BAAI/bge-large-en-v1.5"],
    M.MULTILINGUAL_E5_SMALL: ["multilingual-e5-small", "e5-small",
                              "intfloat/multilingual-e5-small"],
    M.MULTILINGUAL_E5_BASE: ["multilingual-e5-base", "e5-base", "intfloat/multilingual-e5-base"],
    M.QWEN3_EMBEDDING_0_6B: ["qwen3-embedding-0.6b", "qwen3-embedding", "qwen3",
                             "Qwen/Qwen3-Embedding-0.6B"],
    M.QWEN3_EMBEDDING_4B: ["qwen3-embedding-4b", "qwen3-4b", "Qwen/Qwen3-Embedding-4B"],
    M.ALL_MINILM_L6_V2: ["all-minilm-l6-v2", "minilm", "all-minilm",
                         "sentence-transformers/all-MiniLM-L6-v2"],
    M.PARAPHRASE_MULTILINGUAL_MINILM_L12_V2: [
        "paraphrase-multilingual-minilm-l12-v2", "paraphrase-multilingual",
        "multilingual-minilm", "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"],
    M.TEXT_EMBEDDING_3_SMALL: ["text-embedding-3-small", "openai-small", "openai"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "model"),
    [(text, model) for model, texts in ALIASES.items() for text in texts],
)
def test_parse_accepts_every_alias_of_the_original(text: str, model: EmbeddingModel) -> None:
    assert EmbeddingModel.parse(text) is model


@pytest.mark.parametrize(
    ("text", "model"),
    [
        ("LARGE", M.BGE_LARGE_EN_V15),
        ("  bge_small_en_v1.5\n", M.BGE_SMALL_EN_V15),
        ("baai/BGE-BASE", M.BGE_BASE_EN_V15),
        ("Qwen3_4B", M.QWEN3_EMBEDDING_4B),
        ("E5_SMALL", M.MULTILINGUAL_E5_SMALL),
        ("All_MiniLM", M.ALL_MINILM_L6_V2),
    ],
)
def test_parse_ignores_case_spaces_underscores_and_baai(text: str, model: EmbeddingModel) -> None:
    assert EmbeddingModel.parse(text) is model


def test_parse_reads_every_display_name_back() -> None:
    for model in EmbeddingModel:
        assert EmbeddingModel.parse(str(model)) is model


@pytest.mark.parametrize(
    "text", ["unknown-model", "", "bge", "e5", "qwen3-0.6b", "bge_small_en_v15"]
)
def test_parse_rejects_unknown_names_listing_all_valid_ones(text: str) -> None:
    with pytest.raises(ValueError, match="unknown embedding model") as info:
        EmbeddingModel.parse(text)
    message = str(info.value)
    assert f"'{text}'" in message
    for model in EmbeddingModel:
        assert model.display_name in message


@pytest.mark.parametrize(("text", "suggested"), [
    ("bge-smal", ["bge-small-en-v1.5"]),
    ("bge-small-en-v2", ["bge-small-en-v1.5"]),
    ("qwen3-0.6b", ["qwen3-embedding-0.6b"]),
    ("minilm-l6", ["all-minilm-l6-v2"]),
    ("e5", ["multilingual-e5-small", "multilingual-e5-base"]),
    ("bge", ["bge-small-en-v1.5", "bge-base-en-v1.5", "bge-large-en-v1.5"]),
    ("nonsense", []),
    ("", []),
])
def test_an_unknown_name_gets_the_closest_suggested(text: str, suggested: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        EmbeddingModel.parse(text)
    message = str(info.value)
    hint = " or ".join(f"'{name}'" for name in suggested)
    assert (f"Did you mean {hint}?" in message) if suggested else ("Did you mean" not in message)
    assert message.endswith("Valid: " + ", ".join(m.display_name for m in EmbeddingModel))


def test_the_enum_constructor_reads_names_as_parse_does() -> None:
    assert EmbeddingModel("bge-small") is EmbeddingModel.BGE_SMALL_EN_V15
    assert EmbeddingModel("BAAI/bge-base-en-v1.5") is EmbeddingModel.BGE_BASE_EN_V15
    for model in EmbeddingModel:
        assert EmbeddingModel(model.display_name) is model
        assert EmbeddingModel(model) is model
    with pytest.raises(ValueError, match="unknown embedding model: 'bge-smal'. Did you mean "
                                         "'bge-small-en-v1.5'[?] Valid: bge-small-en-v1.5, "):
        EmbeddingModel("bge-smal")
    with pytest.raises(ValueError, match="EmbeddingModel takes a model name or alias, got "
                                         "number 384. Valid: bge-small-en-v1.5, "):
        EmbeddingModel(384)


def test_parse_needs_a_string() -> None:
    with pytest.raises(TypeError, match="model name must be a string"):
        EmbeddingModel.parse(384)  # type: ignore[arg-type]


# -- serde ------------------------------------------------------------------------------


def test_serde_names_follow_serdes_snake_case_rule(load_fixture: Any) -> None:
    expected: dict[str, str] = load_fixture("models.json")
    assert {model.rust_name: model.to_dict() for model in EmbeddingModel} == expected
    for model in EmbeddingModel:
        assert model.serde_name == expected[model.rust_name]
        assert EmbeddingModel.from_dict(expected[model.rust_name]) is model
        assert EmbeddingModel.from_dict(model.rust_name) is model  # PascalCase alias


@pytest.mark.parametrize(
    ("rust_name", "serde_name"),
    [
        ("InProgress", "in_progress"),
        ("RollbackWindow", "rollback_window"),
        ("ContentTooLarge", "content_too_large"),
        ("PermanentApiError", "permanent_api_error"),
        ("Qwen3Embedding0_6B", "qwen3_embedding0_6_b"),
        ("A", "a"),
        ("ABC", "a_b_c"),
        ("already_snake", "already_snake"),
    ],
)
def test_snake_case_matches_serde(rust_name: str, serde_name: str) -> None:
    assert snake_case(rust_name) == serde_name


@pytest.mark.parametrize("name", ["bge-small-en-v1.5", "BGE_SMALL_EN_V15", "bge_small", ""])
def test_model_from_dict_rejects_names_serde_would_not_read(name: str) -> None:
    with pytest.raises(ValueError, match="EmbeddingModel: unknown variant") as info:
        EmbeddingModel.from_dict(name)
    assert "bge_small_en_v15" in str(info.value)


@pytest.mark.parametrize("data", [None, 3, ["bge_small_en_v15"], {"bge_small_en_v15": None}])
def test_model_from_dict_needs_a_string(data: object) -> None:
    with pytest.raises(TypeError, match="EmbeddingModel must be a string"):
        EmbeddingModel.from_dict(data)


def test_pooling_round_trips_and_rejects_unknown_values() -> None:
    for pooling in Pooling:
        assert Pooling.from_dict(pooling.to_dict()) is pooling
    assert [p.to_dict() for p in Pooling] == ["cls", "mean", "last_token"]
    with pytest.raises(ValueError, match="unknown variant 'max'"):
        Pooling.from_dict("max")
    with pytest.raises(TypeError):
        Pooling.from_dict(1)


# -- ModelConfig --------------------------------------------------------------------------


def test_config_dimensions_are_native_without_output_dim() -> None:
    assert ModelConfig(M.QWEN3_EMBEDDING_4B).dimensions == 2560
    assert ModelConfig(M.QWEN3_EMBEDDING_0_6B).dimensions == 1024
    assert ModelConfig(M.BGE_SMALL_EN_V15).dimensions == 384
    assert ModelConfig(M.BGE_SMALL_EN_V15, None).output_dim is None


@pytest.mark.parametrize(
    ("model", "dim"),
    [
        (M.QWEN3_EMBEDDING_4B, 1024),
        (M.QWEN3_EMBEDDING_4B, MIN_MRL_OUTPUT_DIM),
        (M.QWEN3_EMBEDDING_4B, 2560),
        (M.QWEN3_EMBEDDING_0_6B, 512),
        (M.QWEN3_EMBEDDING_0_6B, 1024),
    ],
)
def test_config_accepts_mrl_dimensions_in_range(model: EmbeddingModel, dim: int) -> None:
    config = ModelConfig(model, dim)
    assert config.dimensions == dim
    config.validate()


@pytest.mark.parametrize(
    ("model", "dim", "message"),
    [
        (M.BGE_SMALL_EN_V15, 128,
         "invalid input: bge-small-en-v1.5 does not support configurable embedding dimensions"),
        (M.BGE_BASE_EN_V15, 768,
         "invalid input: bge-base-en-v1.5 does not support configurable embedding dimensions"),
        (M.TEXT_EMBEDDING_3_SMALL, 512,
         ("invalid input: text-embedding-3-small does not support configurable embedding "
          "dimensions")),
        (M.QWEN3_EMBEDDING_4B, 31, "invalid input: embedding output dimension 31 is below minimum 32"),
        (M.QWEN3_EMBEDDING_4B, 0, "invalid input: embedding output dimension 0 is below minimum 32"),
        (M.QWEN3_EMBEDDING_4B, 2561,
         ("invalid input: embedding output dimension 2561 exceeds native dimension 2560 for "
          "qwen3-embedding-4b")),
        (M.QWEN3_EMBEDDING_0_6B, 1025,
         ("invalid input: embedding output dimension 1025 exceeds native dimension 1024 for "
          "qwen3-embedding-0.6b")),
    ],
)  # fmt: skip
def test_config_rejects_invalid_mrl_with_the_original_messages(
    model: EmbeddingModel, dim: int, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        ModelConfig(model, dim)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("model", "dim", "error"),
    [
        ("bge-small-en-v1.5", None, TypeError),
        (M.QWEN3_EMBEDDING_4B, 64.0, TypeError),
        (M.QWEN3_EMBEDDING_4B, True, TypeError),
        (M.QWEN3_EMBEDDING_4B, -64, ValueError),
    ],
)
def test_config_checks_types(model: Any, dim: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="ModelConfig"):
        ModelConfig(model, dim)


def test_config_serde(load_fixture: Any) -> None:
    payloads = load_fixture("model_configs.json")
    configs = [ModelConfig.from_dict(payload) for payload in payloads]
    assert configs == [
        ModelConfig(M.QWEN3_EMBEDDING_4B, 1024),
        ModelConfig(M.ALL_MINILM_L6_V2, None),
        ModelConfig(M.BGE_SMALL_EN_V15, None),
    ]
    assert configs[0].to_dict() == payloads[0]
    assert configs[1].to_dict() == payloads[1]
    assert configs[2].to_dict() == {"model": "bge_small_en_v15", "output_dim": None}
    assert json.dumps(configs[0].to_dict(), separators=(",", ":")) == (
        '{"model":"qwen3_embedding4_b","output_dim":1024}'
    )


@pytest.mark.parametrize(
    ("payload", "error", "match"),
    [
        ([], TypeError, "ModelConfig must be a JSON object"),
        ({}, ValueError, "ModelConfig: missing field 'model'"),
        ({"model": "nope"}, ValueError, "unknown variant 'nope'"),
        ({"model": "bge_small_en_v15", "output_dim": "384"}, TypeError, "ModelConfig.output_dim"),
        ({"model": "bge_small_en_v15", "output_dim": 384}, ValueError, "does not support"),
        ({"model": "qwen3_embedding4_b", "output_dim": 16}, ValueError, "below minimum 32"),
    ],
)
def test_config_from_dict_rejects_malformed_payloads(
    payload: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        ModelConfig.from_dict(payload)


# -- ModelProvenance ----------------------------------------------------------------------

JAN_27_2026 = 1_769_472_000 * 1_000_000_000


@pytest.mark.parametrize(
    ("nanos", "iso"),
    [
        (0, "1970-01-01T00:00:00+00:00"),
        (JAN_27_2026, "2026-01-27T00:00:00+00:00"),
        (JAN_27_2026 + 123_000_000, "2026-01-27T00:00:00.123+00:00"),
        (JAN_27_2026 + 120_000_000, "2026-01-27T00:00:00.120+00:00"),
        (JAN_27_2026 + 123_456_000, "2026-01-27T00:00:00.123456+00:00"),
        (JAN_27_2026 + 100_000, "2026-01-27T00:00:00.000100+00:00"),
        (JAN_27_2026 + 123_456_789, "2026-01-27T00:00:00.123456789+00:00"),
        (JAN_27_2026 + 1, "2026-01-27T00:00:00.000000001+00:00"),
        (JAN_27_2026 + 86_399 * 1_000_000_000, "2026-01-27T23:59:59+00:00"),
    ],
)
def test_provenance_formats_time_like_chrono_to_rfc3339(nanos: int, iso: str) -> None:
    provenance = ModelProvenance.new(M.BGE_SMALL_EN_V15, "m", loaded_at_ns=nanos)
    assert provenance.loaded_at_iso == iso
    assert provenance.loaded_at_ns == nanos


def test_provenance_hash_is_sha256_of_id_time_and_rust_variant_name() -> None:
    provenance = ModelProvenance.new(
        M.QWEN3_EMBEDDING_4B, "Qwen/Qwen3-Embedding-4B", loaded_at_ns=JAN_27_2026
    )
    text = "Qwen/Qwen3-Embedding-4B:2026-01-27T00:00:00+00:00:Qwen3Embedding4B"
    assert provenance.hash == hashlib.sha256(text.encode()).hexdigest()
    # Computed with `sha256sum` when the test was written.
    assert provenance.hash == "18767661ae30b37d925d87504653c42b4be4498a55ecc4ad2ef98492b5e6d7d3"
    assert len(provenance.hash) == 64


def test_provenance_fixture_from_rust_round_trips(load_fixture: Any) -> None:
    payload = load_fixture("model_provenance.json")
    provenance = ModelProvenance.from_dict(payload)
    assert provenance.model is M.BGE_SMALL_EN_V15
    assert provenance.model_id == "BAAI/bge-small-en-v1.5"
    assert provenance.loaded_at_ns == JAN_27_2026 + 123_456_789
    assert provenance.loaded_at.isoformat() == "2026-01-27T00:00:00.123456+00:00"
    assert provenance.to_dict() == payload
    # The stored hash is what the Rust service computed; recomputing it agrees.
    assert provenance.hash == provenance_hash(
        provenance.model, provenance.model_id, provenance.loaded_at_iso
    )
    assert (
        ModelProvenance.new(
            M.BGE_SMALL_EN_V15, "BAAI/bge-small-en-v1.5", loaded_at_ns=provenance.loaded_at_ns
        )
        == provenance
    )


def test_provenance_differs_per_load_time_and_knows_its_model() -> None:
    first = ModelProvenance.new(M.BGE_SMALL_EN_V15, "model1", loaded_at_ns=JAN_27_2026)
    second = ModelProvenance.new(M.BGE_SMALL_EN_V15, "model1", loaded_at_ns=JAN_27_2026 + 1)
    assert first.hash != second.hash
    assert first.dimensions == 384
    assert ModelProvenance.new(M.BGE_LARGE_EN_V15, "large").dimensions == 1024
    assert first.matches_model(M.BGE_SMALL_EN_V15)
    assert not first.matches_model(M.BGE_BASE_EN_V15)


def test_provenance_new_records_the_current_time() -> None:
    before = time.time_ns()
    provenance = ModelProvenance.new(M.ALL_MINILM_L6_V2, "local")
    after = time.time_ns()
    assert before <= provenance.loaded_at_ns <= after
    assert provenance.loaded_at_iso.endswith("+00:00")


def test_provenance_reads_nanoseconds_over_a_second_like_serde() -> None:
    payload = {
        "model": "all_mini_lm_l6_v2",
        "model_id": "x",
        "hash": "h",
        "loaded_at": {"secs_since_epoch": 1, "nanos_since_epoch": 1_500_000_000},
        "loaded_at_iso": "t",
    }
    assert ModelProvenance.from_dict(payload).loaded_at_ns == 2_500_000_000


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"loaded_at": None}, TypeError, "ModelProvenance.loaded_at must be a JSON object"),
        ({"loaded_at": {"secs_since_epoch": 1}}, ValueError, "missing field 'nanos_since_epoch'"),
        ({"loaded_at": {"secs_since_epoch": -1, "nanos_since_epoch": 0}}, ValueError,
         "secs_since_epoch"),
        ({"hash": 5}, TypeError, "ModelProvenance.hash must be a string"),
        ({"model": "BGE"}, ValueError, "unknown variant 'BGE'"),
    ],
)  # fmt: skip
def test_provenance_rejects_malformed_payloads(
    load_fixture: Any, change: dict[str, object], error: type[Exception], match: str
) -> None:
    payload = {**load_fixture("model_provenance.json"), **change}
    with pytest.raises(error, match=match):
        ModelProvenance.from_dict(payload)
