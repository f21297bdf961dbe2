"""The model's own tokenizer (`tokenizer.json` through the `tokenizers` package), set up for us.

A `tokenizer.json` can carry its own truncation and padding (all-MiniLM-L6-v2's has truncation
at 128 and `Fixed(128)` padding). Both are reset here: no padding (the encoder packs tokens) and
truncation at the limit we choose, so what is embedded never depends on those baked-in settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["Tokenizer"]


class Tokenizer:
    """Texts to token ids (special tokens included), truncated at `max_tokens`."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer as HfTokenizer  # type: ignore[import-untyped,unused-ignore]

        if max_tokens < 2:
            raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
        self.max_tokens = max_tokens
        self._truncating: Any = HfTokenizer.from_file(str(path))
        self._truncating.no_padding()
        self._truncating.enable_truncation(max_tokens)
        # A second instance counts the tokens before truncation; changing one instance's
        # truncation per call would race between threads.
        self._full: Any = HfTokenizer.from_file(str(path))
        self._full.no_padding()
        self._full.no_truncation()

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, at most `max_tokens` each."""
        return [enc.ids for enc in self._truncating.encode_batch(texts)]

    def count(self, texts: list[str]) -> list[tuple[int, int]]:
        """`(before_truncation, embedded)` token counts, special tokens included."""
        counts = []
        for enc in self._full.encode_batch(texts):
            total = len(enc.ids)
            counts.append((total, min(total, self.max_tokens)))
        return counts
