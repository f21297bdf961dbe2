"""What a model folder says about its own pipeline: sentence-transformers' module list.

A sentence-transformers folder describes how token states become an embedding: `modules.json`
lists the modules (Transformer, Pooling, Normalize, ...), `1_Pooling/config.json` (or wherever
the Pooling module's path points) names the pooling, `sentence_bert_config.json` the longest
input, and `config_sentence_transformers.json` the prompts per role. The native encoders honour
all of it, and refuse, naming the file and the field, what they cannot run (max pooling, a Dense
layer), rather than embed with another pipeline than the folder's.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from ..model import Pooling
from .errors import ModelInitializationError

__all__ = ["FolderSettings", "write_pooled_folder"]

_POOLING_MODES: Final = {
    "pooling_mode_cls_token": Pooling.CLS,
    "pooling_mode_mean_tokens": Pooling.MEAN,
}
_UNSUPPORTED_MODES: Final = (
    "pooling_mode_max_tokens",
    "pooling_mode_mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens",
    "pooling_mode_lasttoken",
)
# Modules the native forward pass is (Transformer), or applies (Pooling, Normalize).
_TRANSFORMER, _POOLING, _NORMALIZE = "Transformer", "Pooling", "Normalize"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelInitializationError(f"{path}: cannot read it as JSON: {error}") from error


@dataclass(frozen=True)
class FolderSettings:
    """A folder's own pipeline settings; None where the folder does not say.

    - `pooling`: from the Pooling module's config (CLS or MEAN).
    - `normalize`: True when `modules.json` lists a Normalize module, False when it lists
      modules without one, None without `modules.json`.
    - `max_seq_length`: from `sentence_bert_config.json`.
    - `prompts`: role name to prefix, from `config_sentence_transformers.json` (e.g.
      `{"query": "query: ", "passage": "passage: "}`); empty when there are none.
    """

    pooling: Pooling | None = None
    normalize: bool | None = None
    max_seq_length: int | None = None
    prompts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def read(cls, folder: Path) -> FolderSettings:
        """Read `folder`'s settings; ModelInitializationError names a file and field it cannot
        honour."""
        pooling_config: Path | None = folder / "1_Pooling" / "config.json"
        normalize: bool | None = None
        modules_path = folder / "modules.json"
        if modules_path.is_file():
            modules = _read_json(modules_path)
            if not isinstance(modules, list):
                raise ModelInitializationError(f"{modules_path}: expected a list of modules")
            pooling_config = None
            normalize = False
            for module in modules:
                kind = str(module.get("type", "")) if isinstance(module, dict) else ""
                short = kind.rsplit(".", 1)[-1]
                if short == _POOLING:
                    pooling_config = folder / str(module.get("path", "")) / "config.json"
                elif short == _NORMALIZE:
                    normalize = True
                elif short != _TRANSFORMER:
                    raise ModelInitializationError(
                        f"{modules_path}: module {kind or module!r} is not supported by the "
                        "native encoder (it runs Transformer, Pooling and Normalize only)"
                    )
        pooling = None
        if pooling_config is not None and pooling_config.is_file():
            pooling = _pooling(pooling_config)
        return cls(
            pooling=pooling,
            normalize=normalize,
            max_seq_length=_max_seq_length(folder / "sentence_bert_config.json"),
            prompts=MappingProxyType(_prompts(folder / "config_sentence_transformers.json")),
        )

    def prompt(self, *names: str) -> str:
        """The first prompt found under `names` (e.g. "passage", "document"), else ""."""
        for name in names:
            if name in self.prompts:
                return self.prompts[name]
        return ""


def _pooling(path: Path) -> Pooling:
    raw = _read_json(path)
    if not isinstance(raw, dict):
        raise ModelInitializationError(f"{path}: expected an object")
    for mode in _UNSUPPORTED_MODES:
        if raw.get(mode):
            raise ModelInitializationError(
                f"{path}: {mode} is not supported by the native encoder (CLS or mean only)"
            )
    chosen = [pooling for mode, pooling in _POOLING_MODES.items() if raw.get(mode)]
    if len(chosen) != 1:
        raise ModelInitializationError(
            f"{path}: expected exactly one of pooling_mode_cls_token and "
            f"pooling_mode_mean_tokens to be true, got {len(chosen)}"
        )
    return chosen[0]


def _max_seq_length(path: Path) -> int | None:
    if not path.is_file():
        return None
    value = _read_json(path)
    length = value.get("max_seq_length") if isinstance(value, dict) else None
    return length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None


def _prompts(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    value = _read_json(path)
    prompts = value.get("prompts") if isinstance(value, dict) else None
    if not isinstance(prompts, dict):
        return {}
    return {str(key): text for key, text in prompts.items() if isinstance(text, str)}


def write_pooled_folder(source: Path, out: Path, pooling: Pooling, *, normalize: bool = True) -> None:
    """Make `out` a model folder with `source`'s weights, tokenizer and config (linked where the
    file system allows, else copied) and its own sentence-transformers pipeline: `pooling`, then
    a Normalize module if `normalize`. Another pooling of the same weights is another model."""
    if pooling not in (Pooling.CLS, Pooling.MEAN):
        raise ValueError(f"pooling must be CLS or MEAN, got {pooling}")
    out.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json",
                 "sentence_bert_config.json"):
        if (source / name).is_file():
            try:
                os.symlink((source / name).resolve(), out / name)
            except OSError:
                shutil.copyfile(source / name, out / name)
    width = json.loads((source / "config.json").read_text(encoding="utf-8"))["hidden_size"]
    (out / "1_Pooling").mkdir(exist_ok=True)
    (out / "1_Pooling" / "config.json").write_text(json.dumps({
        "word_embedding_dimension": width,
        "pooling_mode_cls_token": pooling is Pooling.CLS,
        "pooling_mode_mean_tokens": pooling is Pooling.MEAN,
    }, indent=2) + "\n", encoding="utf-8")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
    ]
    if normalize:
        modules.append({"idx": 2, "name": "2", "path": "2_Normalize",
                        "type": "sentence_transformers.models.Normalize"})
    (out / "modules.json").write_text(json.dumps(modules, indent=2) + "\n", encoding="utf-8")
