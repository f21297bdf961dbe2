"""A local stand-in for the Hugging Face hub, and a tiny BERT model folder to serve from it.

`FakeHub` serves one repository at one commit on 127.0.0.1 with the endpoints
`huggingface_hub.snapshot_download` uses: the revision info (`/api/models/{repo}/revision/{rev}`,
with the file list and commit sha), the file tree, and HEAD/GET on
`/{repo}/resolve/{rev}/{path}` with `ETag`, `X-Repo-Commit` and `Content-Length`. Anything else
is a 404 `RepoNotFound`. Every request is recorded, so tests can count them.

`write_tiny_bert` writes a random BERT (hidden 384, one layer) with numpy and the safetensors
and tokenizers packages only, so the hub tests need no torch.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

TINY_WORDS = "the a river mountain city light dark fast slow blue green red stone tree".split()


def write_tiny_bert(folder: Path, hidden: int = 384, seed: int = 0) -> Path:
    """A random one-layer BERT with a WordPiece tokenizer in `folder`; returns the folder."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    folder.mkdir(parents=True, exist_ok=True)
    vocab = {tok: i for i, tok in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *TINY_WORDS])}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(str(folder / "tokenizer.json"))
    inter, positions = 32, 16
    config = {
        "model_type": "bert", "hidden_size": hidden, "num_attention_heads": 4,
        "num_hidden_layers": 1, "intermediate_size": inter, "hidden_act": "gelu",
        "layer_norm_eps": 1e-12, "max_position_embeddings": positions, "pad_token_id": 0,
        "type_vocab_size": 2, "vocab_size": len(vocab),
    }
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(seed)

    def rand(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32) * 0.1

    p = "bert.encoder.layer.0."
    tensors = {
        "bert.embeddings.word_embeddings.weight": rand(len(vocab), hidden),
        "bert.embeddings.position_embeddings.weight": rand(positions, hidden),
        "bert.embeddings.token_type_embeddings.weight": rand(2, hidden),
        "bert.embeddings.LayerNorm.weight": 1 + rand(hidden),
        "bert.embeddings.LayerNorm.bias": rand(hidden),
    }
    for name in ("query", "key", "value"):
        tensors[f"{p}attention.self.{name}.weight"] = rand(hidden, hidden)
        tensors[f"{p}attention.self.{name}.bias"] = rand(hidden)
    tensors.update({
        f"{p}attention.output.dense.weight": rand(hidden, hidden),
        f"{p}attention.output.dense.bias": rand(hidden),
        f"{p}attention.output.LayerNorm.weight": 1 + rand(hidden),
        f"{p}attention.output.LayerNorm.bias": rand(hidden),
        f"{p}intermediate.dense.weight": rand(inter, hidden),
        f"{p}intermediate.dense.bias": rand(inter),
        f"{p}output.dense.weight": rand(hidden, inter),
        f"{p}output.dense.bias": rand(hidden),
        f"{p}output.LayerNorm.weight": 1 + rand(hidden),
        f"{p}output.LayerNorm.bias": rand(hidden),
    })
    save_file(tensors, str(folder / "model.safetensors"))
    return folder


class FakeHub:
    """Serves `files` (path -> bytes) as `repo_id` at commit `sha` on 127.0.0.1."""

    def __init__(self, repo_id: str, sha: str, files: Mapping[str, bytes]) -> None:
        self.repo_id = repo_id
        self.sha = sha
        self.files = dict(files)
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fetched(self) -> set[str]:
        """Files whose contents were sent (GET on a resolve URL)."""
        prefix = f"/{self.repo_id}/resolve/"
        return {
            path[len(prefix):].split("/", 1)[1]
            for method, path in self.requests
            if method == "GET" and path.startswith(prefix)
        }

    @contextmanager
    def running(self) -> Iterator[FakeHub]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # quiet: the test reads hub.requests instead

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                with hub._lock:
                    hub.requests.append((self.command, path))
                api = f"/api/models/{hub.repo_id}/"
                resolve = f"/{hub.repo_id}/resolve/"
                if path.startswith(api + "revision/"):
                    siblings = [{"rfilename": name} for name in sorted(hub.files)]
                    self._json({"id": hub.repo_id, "modelId": hub.repo_id, "sha": hub.sha,
                                "private": False, "siblings": siblings}, body)
                elif path.startswith(api + "tree/"):
                    tree = [{"type": "file", "path": name, "size": len(data),
                             "oid": hashlib.sha1(data).hexdigest()}
                            for name, data in sorted(hub.files.items())]
                    self._json(tree, body)
                elif path.startswith(resolve) and path[len(resolve):].count("/") >= 1:
                    name = path[len(resolve):].split("/", 1)[1]
                    if name not in hub.files:
                        self._not_found("EntryNotFound")
                        return
                    data = hub.files[name]
                    self.send_response(200)
                    self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                    self.send_header("X-Repo-Commit", hub.sha)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Content-Type", "application/octet-stream")
                    self.end_headers()
                    if body:
                        self.wfile.write(data)
                else:
                    self._not_found("RepoNotFound")

            def _json(self, payload: object, body: bool) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Repo-Commit", hub.sha)
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _not_found(self, code: str) -> None:
                data = b'{"error": "not found"}'
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
