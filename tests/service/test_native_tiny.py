"""The CLS-pooling (BERT) and XLM-RoBERTa paths on tiny random models, against transformers.

No BGE or E5 weights are installable offline, so the tests build models with their
architectures: a BertModel and an XLMRobertaModel with every parameter random (biases and
layer-norm weights included), saved with `save_pretrained(safe_serialization=True)`, with a
WordPiece (BERT) or Unigram (XLM-R) `tokenizer.json` built by the tokenizers library. The
reference is transformers' own forward pass on a padded batch with its attention mask, pooled
as the registry says (CLS for BGE, mean for E5) and normalized.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lattice_embed.model import EmbeddingModel, Pooling
from lattice_embed.service import ModelInitializationError
from lattice_embed.service.native import NativeEmbeddingService
from tests.conftest import require_module

WORDS = (
    "the a river mountain city light dark fast slow blue green red music code data model "
    "search vector query passage token small large north south water fire stone tree"
).split()
SUFFIXES = ["##s", "##ing", "##ed", "##er", "##ly"]

TEXTS = [
    "the river",
    "",
    "a fast blue river runs north",
    "searching the vectors quickly",
    "unknownword and the model",
    "stone tree fire water " * 30,  # past the tiny models' 64-token limit
    "Music CODE data",
    "the the the",
    "green",
    "query passage token",
]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _randomize(model: Any, seed: int) -> None:
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=generator) * 0.05
            param.copy_(noise + 1.0 if "LayerNorm.weight" in name else noise * 2)


def _bert_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                             *WORDS, *SUFFIXES, "vector", "quick"])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    # A baked-in truncation and fixed padding, as all-MiniLM-L6-v2's file has: ignored by us.
    tok.enable_truncation(8)
    tok.enable_padding(length=12, pad_id=0, pad_token="[PAD]")
    tok.save(str(path))


def _unigram_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    pieces = [("<s>", 0.0), ("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [("▁" + word, -2.0 - i * 0.01) for i, word in enumerate(WORDS)]
    pieces += [(ch, -8.0) for ch in "abcdefghijklmnopqrstuvwxyz"] + [("▁", -5.0)]
    tok = Tokenizer(models.Unigram(pieces, unk_id=3, byte_fallback=False))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    tok.save(str(path))


def _build(kind: str, folder: Path) -> tuple[Path, Any]:
    """A tiny model folder of `kind` ("bert" or "xlm-roberta") and its torch model."""
    require_module("torch", "transformers", "tokenizers")
    import transformers

    folder.mkdir()
    common = dict(hidden_size=384, num_hidden_layers=2, num_attention_heads=6,
                  intermediate_size=96, hidden_act="gelu", layer_norm_eps=1e-12)
    if kind == "bert":
        _bert_tokenizer(folder / "tokenizer.json")
        config = transformers.BertConfig(vocab_size=len(WORDS) + 12, type_vocab_size=2,
                                         max_position_embeddings=64, pad_token_id=0, **common)
        model = transformers.BertModel(config, add_pooling_layer=False)
    else:
        _unigram_tokenizer(folder / "tokenizer.json")
        config = transformers.XLMRobertaConfig(vocab_size=len(WORDS) + 31, type_vocab_size=1,
                                               max_position_embeddings=66, pad_token_id=1,
                                               bos_token_id=0, eos_token_id=2, **common)
        model = transformers.XLMRobertaModel(config, add_pooling_layer=False)
    _randomize(model, seed=7 if kind == "bert" else 11)
    model.eval()
    model.save_pretrained(str(folder), safe_serialization=True)
    return folder, model


def _reference(model: Any, folder: Path, pad_id: int, pooling: Pooling) -> np.ndarray:
    """transformers' vectors: a padded batch with its mask, truncated at 64 tokens."""
    import torch
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(64)
    ids = [enc.ids for enc in tok.encode_batch(TEXTS)]
    width = max(map(len, ids))
    input_ids = torch.tensor([row + [pad_id] * (width - len(row)) for row in ids])
    mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids])
    with torch.no_grad():
        hidden = model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    if pooling is Pooling.CLS:
        pooled = hidden[:, 0]
    else:
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1)
    vectors = pooled.numpy().astype(np.float64)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return _build("bert", tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture(scope="module")
def tiny_xlmr(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return _build("xlm-roberta", tmp_path_factory.mktemp("tiny") / "xlmr")


@pytest.mark.parametrize("threads", [1, 2])
def test_bert_cls_pooling_matches_transformers(tiny_bert: tuple[Path, Any], threads: int) -> None:
    folder, model = tiny_bert
    service = NativeEmbeddingService(
        EmbeddingModel.BGE_SMALL_EN_V15, model_dir=folder, threads=threads
    )
    expected = _reference(model, folder, pad_id=0, pooling=Pooling.CLS)
    np.testing.assert_allclose(service.embed(TEXTS), expected, atol=2e-5)
    assert service.source == "explicit"


def test_bert_mean_pooling_matches_transformers(tiny_bert: tuple[Path, Any]) -> None:
    folder, model = tiny_bert
    service = NativeEmbeddingService(EmbeddingModel.ALL_MINILM_L6_V2, model_dir=folder)
    expected = _reference(model, folder, pad_id=0, pooling=Pooling.MEAN)
    np.testing.assert_allclose(service.embed(TEXTS), expected, atol=2e-5)


@pytest.mark.parametrize("threads", [1, 2])
def test_xlm_roberta_mean_pooling_matches_transformers(
    tiny_xlmr: tuple[Path, Any], threads: int
) -> None:
    folder, model = tiny_xlmr
    service = NativeEmbeddingService(
        EmbeddingModel.MULTILINGUAL_E5_SMALL, model_dir=folder, threads=threads
    )
    expected = _reference(model, folder, pad_id=1, pooling=Pooling.MEAN)
    np.testing.assert_allclose(service.embed(TEXTS), expected, atol=2e-5)
    one_by_one = np.stack([service.embed_one(text) for text in TEXTS])
    np.testing.assert_allclose(one_by_one, expected, atol=2e-5)


def test_xlm_roberta_limit_comes_from_its_position_table(tiny_xlmr: tuple[Path, Any]) -> None:
    folder, _ = tiny_xlmr
    service = NativeEmbeddingService(EmbeddingModel.MULTILINGUAL_E5_SMALL, model_dir=folder)
    long = service.count_tokens([TEXTS[5]])[0]
    assert long.truncated and long.embedded == 64  # 66 positions minus padding_idx + 1


def test_e5_roles_prepend_query_and_passage(tiny_xlmr: tuple[Path, Any]) -> None:
    folder, _ = tiny_xlmr
    service = NativeEmbeddingService(EmbeddingModel.MULTILINGUAL_E5_SMALL, model_dir=folder)
    np.testing.assert_array_equal(service.embed_query(["the river"]),
                                  service.embed(["query: the river"]))
    np.testing.assert_array_equal(service.embed_passage(["the river"]),
                                  service.embed(["passage: the river"]))


def test_a_model_of_the_wrong_width_is_refused_once(
    tiny_bert: tuple[Path, Any], tmp_path: Path
) -> None:
    folder, _ = tiny_bert
    service = NativeEmbeddingService(EmbeddingModel.BGE_BASE_EN_V15, model_dir=folder)
    with pytest.raises(ModelInitializationError,
                       match="hidden_size 384 is not the 768 dimensions of bge-base-en-v1.5"):
        service.ensure_loaded()
    with pytest.raises(ModelInitializationError) as again:  # memoized, not retried
        service.embed(["x"])
    assert "hidden_size 384" in str(again.value)


def test_an_unsupported_activation_is_a_clear_error(
    tiny_bert: tuple[Path, Any], tmp_path: Path
) -> None:
    folder, _ = tiny_bert
    copy = tmp_path / "relu"
    copy.mkdir()
    for name in ("tokenizer.json", "model.safetensors"):
        (copy / name).symlink_to(folder / name)
    config = json.loads((folder / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    service = NativeEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15, model_dir=copy)
    with pytest.raises(ModelInitializationError, match="hidden_act 'relu' is not supported"):
        service.embed(["x"])


def test_pass_and_attention_splits_do_not_change_the_vectors(
    tiny_xlmr: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lattice_embed.service import _bert

    folder, _ = tiny_xlmr
    texts = [f"{WORDS[i % len(WORDS)]} river " * (1 + i % 7) for i in range(60)] + TEXTS * 3
    service = NativeEmbeddingService(
        EmbeddingModel.MULTILINGUAL_E5_SMALL, model_dir=folder, threads=2
    )
    whole = service.embed(texts)
    monkeypatch.setattr(_bert, "_TOKENS_PER_PASS", 50)  # many small forward passes
    monkeypatch.setattr(_bert, "_SCORES_PER_RUN", 1)  # attention one sequence at a time
    np.testing.assert_allclose(service.embed(texts), whole, atol=2e-6)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_weights_are_widened_exactly(
    tiny_bert: tuple[Path, Any], tmp_path: Path, dtype: str
) -> None:
    import copy

    import torch

    folder, model = tiny_bert
    half = copy.deepcopy(model).to(getattr(torch, dtype))
    half.save_pretrained(str(tmp_path), safe_serialization=True)
    (tmp_path / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    widened = half.to(torch.float32)  # the same rounded values, computed in float32
    service = NativeEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15, model_dir=tmp_path)
    expected = _reference(widened, tmp_path, pad_id=0, pooling=Pooling.CLS)
    np.testing.assert_allclose(service.embed(TEXTS), expected, atol=2e-5)
