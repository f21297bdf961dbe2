"""The model's own tokenizer (`tokenizer.json` through the `tokenizers` package), set up for us.

A `tokenizer.json` can carry its own truncation and padding (all-MiniLM-L6-v2's has truncation
at 128 and `Fixed(128)` padding). Both are reset here: no padding (the encoder packs tokens) and
truncation at the limit we choose, so what is embedded never depends on those baked-in settings.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from .errors import ModelInitializationError

__all__ = ["Tokenizer"]


class Tokenizer:
    """Texts to token ids (special tokens included), truncated at `max_tokens`."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        from tokenizers import Tokenizer as HfTokenizer

        if max_tokens < 2:
            raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
        self.max_tokens = max_tokens
        self._path = path
        try:
            self._truncating: Any = HfTokenizer.from_file(str(path))
        except Exception as error:  # tokenizers raises its own Exception for a bad file
            raise ModelInitializationError(f"{path}: {error}") from error
        self._truncating.no_padding()
        self._truncating.enable_truncation(max_tokens)
        self._full: Any = None  # made on first count: most callers never count
        self._lock = threading.Lock()

    @property
    def vocab_size(self) -> int:
        """Token ids run from 0 to this, exclusive (added tokens included)."""
        return int(self._truncating.get_vocab_size(with_added_tokens=True))

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, at most `max_tokens` each."""
        return [enc.ids for enc in self._truncating.encode_batch(texts)]

    def count(self, texts: list[str]) -> list[tuple[int, int]]:
        """`(before_truncation, embedded)` token counts, special tokens included."""
        encodings = self._untruncated().encode_batch(texts)
        return [(len(enc), min(len(enc), self.max_tokens)) for enc in encodings]

    def _untruncated(self) -> Any:
        """A second instance without truncation: changing one instance's truncation per call
        would race between threads."""
        with self._lock:
            if self._full is None:
                from tokenizers import Tokenizer as HfTokenizer

                full = HfTokenizer.from_file(str(self._path))
                full.no_padding()
                full.no_truncation()
                self._full = full
            return self._full
