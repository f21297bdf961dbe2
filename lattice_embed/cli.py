"""The `lattice-embed` command: `info` (what the kernels run on), `bench` (speed against
numpy), `embed` (texts to JSON vectors) and `demo` (embed a corpus and search it), plus the
migration engine's commands (`index`, `search`, `migrate`, `model`; lattice_embed.engine.cli).

Exit status, every command: 0 done; 2 a user error (a bad argument, model, store, input or
state), printed as one line on stderr; 1 the command ran but what it ran did not succeed (a
migration that stopped paused or cancelled, the demo's self-check). A closed stdout
(`... | head`) stops the command quietly with status 0."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from lattice_embed import __version__


def _info(args: argparse.Namespace) -> int:
    from lattice_embed.simd._runtime import runtime_info, runtime_report

    print(json.dumps(runtime_info(), indent=2) if args.json else runtime_report())
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lattice_embed.bench import render_table, report_json, run_bench

    results, one_thread = run_bench(dims=args.dims, seconds=args.seconds, rows=args.rows)
    if args.json:
        print(json.dumps(report_json(results, one_thread, args.rows), indent=2))
    else:
        print(render_table(results, one_thread, args.rows))
    return 0


_EMBED_HELP = """\
Embed texts with the native encoder and print one JSON array of floats per text, one per
line, in input order (JSON Lines): line i of the output is the vector of text i, each value
in the shortest form that reads back as the same float32. Texts come from the arguments, or,
with no TEXT or a single '-', from standard input, one text per line (every line is a text,
an empty line included). More than one batch of texts shows a progress bar on stderr when
stderr is a terminal. Errors print one line on stderr and exit with status 2."""

#: Texts embedded (and printed) at a time; the progress bar moves once per batch.
EMBED_BATCH = 256

_ROLES = {"generic": "GENERIC", "query": "QUERY", "passage": "PASSAGE"}


def _read_texts(args: argparse.Namespace, stdin: TextIO) -> list[str]:
    texts: list[str] = args.texts
    if not texts or texts == ["-"]:
        return stdin.read().splitlines()
    return texts


def _batches(texts: list[str], size: int) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(texts), size):
        yield start, texts[start:start + size]


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # as json.dumps spells them


def float32_json(vector: Any) -> str:
    """A float32 vector as a JSON array, each value in the shortest decimal form that reads back
    as the same float32 (numpy's repr: 0.1 rather than 0.10000000149011612)."""
    import numpy as np

    values = [str(value) for value in np.asarray(vector, dtype=np.float32)]
    return "[" + ",".join(_NON_FINITE.get(value, value) for value in values) + "]"


def _progress(total: int) -> Any:
    """A progress bar on stderr for `total` texts when stderr is a terminal and the input is
    longer than one batch; else None (tqdm, from the embed extra, draws it)."""
    if total <= EMBED_BATCH or not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return tqdm(total=total, desc="embedding", unit="text", file=sys.stderr)


def _embed(args: argparse.Namespace) -> int:
    from lattice_embed.model import EmbeddingModel
    from lattice_embed.service import (
        MAX_BATCH_SIZE,
        EmbedError,
        EmbeddingRole,
        InvalidInputError,
        NativeEmbeddingService,
        TextTooLongError,
    )

    def fail(message: str) -> int:
        print(f"lattice-embed embed: {' '.join(message.split())}", file=sys.stderr)
        return 2

    try:
        model = EmbeddingModel.parse(args.model) if args.model else EmbeddingModel.default()
    except ValueError as error:
        return fail(str(error))
    role = EmbeddingRole[_ROLES[args.role]]
    texts = _read_texts(args, sys.stdin)
    if not texts:
        return fail(str(InvalidInputError("no texts provided")))
    bar = _progress(len(texts))
    try:
        service = NativeEmbeddingService(model, threads=args.threads)
        # Long inputs go in batches, each printed as it is done.
        for start, batch in _batches(texts, min(EMBED_BATCH, MAX_BATCH_SIZE)):
            try:
                vectors = service.embed_with_role(batch, role)
            except TextTooLongError as error:  # report the text's position in the whole input
                raise TextTooLongError(error.length, error.max, start + error.index) from None
            sys.stdout.write("".join(float32_json(row) + "\n" for row in vectors))
            if bar is not None:
                bar.update(len(batch))
        sys.stdout.flush()
    except (EmbedError, ValueError) as error:
        return fail(str(error))
    except BrokenPipeError:  # `lattice-embed embed ... | head -1`: stop quietly
        return _stdout_closed()
    finally:
        if bar is not None:
            bar.close()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from lattice_embed.service.demo import run_demo

    status = run_demo(sys.stdout, search_rows=args.rows, repeat=args.repeat)
    if status or args.no_migrate:
        return status
    from lattice_embed.engine.demo import run_migration_demo

    print("\n-- migrating the stored corpus to another model --\n")
    return run_migration_demo(sys.stdout)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lattice-embed", description="Fast vector similarity and embedding-model migration.",
        epilog="Exit status: 0 done, 2 a user error (one line on stderr), 1 the command ran "
               "but did not succeed (e.g. a migration stopped paused).")
    parser.add_argument("--version", action="version", version=f"lattice-embed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser("info", help="print version, build flags, CPU features and tiers")
    info.add_argument("--json", action="store_true",
                      help="print the same as one JSON object (capabilities() and versions)")
    info.set_defaults(run=_info)

    bench = commands.add_parser(
        "bench", help="time pair operations, normalize, search, top-k and the quantized tiers "
        "against numpy on this machine")
    bench.add_argument("--dims", type=_positive, nargs="+", default=[384, 768, 1536],
                       help="vector lengths to time (default: 384 768 1536)")
    bench.add_argument("--rows", type=_positive, default=10_000,
                       help="matrix rows for the normalize, search and quantized cases "
                            "(default: 10000)")
    bench.add_argument("--seconds", type=_positive_float, default=0.2,
                       help="time budget per measurement (default: 0.2)")
    bench.add_argument("--json", action="store_true",
                       help="print the results as one JSON object")
    bench.set_defaults(run=_bench)

    embed = commands.add_parser(
        "embed", help="embed texts and print JSON vectors, one per line",
        description=_EMBED_HELP)
    embed.add_argument("texts", nargs="*", metavar="TEXT",
                       help="texts to embed (none or '-': one per line from stdin)")
    embed.add_argument("--model", default=None,
                       help="model name or alias, e.g. all-minilm-l6-v2, bge-small, e5-small "
                            "(default: all-minilm-l6-v2)")
    embed.add_argument("--role", choices=list(_ROLES), default="generic",
                       help="query or passage prepends the model's instruction, if it has one "
                            "(default: generic, none)")
    embed.add_argument("--threads", type=_positive, default=None,
                       help="encoder threads (default: LATTICE_EMBED_NUM_THREADS, else the cores)")
    embed.set_defaults(run=_embed)

    demo = commands.add_parser(
        "demo", help="embed a small corpus with the default model, search it, time the search, "
        "then migrate it to another model")
    demo.add_argument("--rows", type=_positive, default=100_000,
                      help="rows to time the search on (default: 100000)")
    demo.add_argument("--repeat", type=_positive, default=20,
                      help="timed runs per case, the best is shown (default: 20)")
    demo.add_argument("--no-migrate", action="store_true",
                      help="skip the second half: migrating the stored corpus to another model")
    demo.set_defaults(run=_demo)

    from lattice_embed.engine.cli import add_commands

    add_commands(commands, _positive)
    return parser


def _command_name(args: argparse.Namespace) -> str:
    words = [args.command] + [getattr(args, f"{args.command}_command", None) or ""]
    return " ".join(filter(None, words))


def _stdout_closed() -> int:
    """`... | head`: the reader is gone. Stop quietly: what is still buffered goes nowhere (so
    the interpreter's last flush cannot fail either) and the status is 0."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. User errors (a bad model, store, input or state) print one line on
    stderr and exit with status 2; a closed stdout ends the command quietly with status 0."""
    from lattice_embed.engine.cli import CommandError
    from lattice_embed.engine.errors import EngineError
    from lattice_embed.migration import MigrationError
    from lattice_embed.service.errors import EmbedError

    try:
        try:
            args = build_parser().parse_args(argv)
        finally:
            sys.stdout.flush()  # --version and --help print here, then exit
        status = int(args.run(args))
        sys.stdout.flush()  # a closed pipe shows now, not in the interpreter's last flush
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except (CommandError, EngineError, EmbedError, MigrationError, ValueError, TypeError,
            OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"lattice-embed {_command_name(args)}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
