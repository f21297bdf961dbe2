"""The `lattice-embed` command: `info` (what the kernels run on), `bench` (speed against
numpy), `embed` (texts to JSON vectors) and `demo` (embed a corpus and search it)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO


def _info(args: argparse.Namespace) -> int:
    from lattice_embed.simd import show_runtime

    show_runtime()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lattice_embed.bench import run_quick_bench

    print(run_quick_bench(dims=args.dims, seconds=args.seconds))
    return 0


_EMBED_HELP = """\
Embed texts with the native encoder and print one JSON array of floats per text, one per
line, in input order (JSON Lines): line i of the output is the vector of text i. Texts come
from the arguments, or, with no TEXT or a single '-', from standard input, one text per line
(every line is a text, an empty line included). Errors print one line on stderr and exit
with status 2."""

_ROLES = {"generic": "GENERIC", "query": "QUERY", "passage": "PASSAGE"}


def _read_texts(args: argparse.Namespace, stdin: TextIO) -> list[str]:
    texts: list[str] = args.texts
    if not texts or texts == ["-"]:
        return stdin.read().splitlines()
    return texts


def _batches(texts: list[str], size: int) -> Iterator[tuple[int, list[str]]]:
    for start in range(0, len(texts), size):
        yield start, texts[start:start + size]


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
    try:
        service = NativeEmbeddingService(model, threads=args.threads)
        # Long inputs go in batches of the service's maximum, each printed as it is done.
        for start, batch in _batches(texts, MAX_BATCH_SIZE):
            try:
                vectors = service.embed_with_role(batch, role)
            except TextTooLongError as error:  # report the text's position in the whole input
                raise TextTooLongError(error.length, error.max, start + error.index) from None
            sys.stdout.write("".join(json.dumps(row.tolist()) + "\n" for row in vectors))
        sys.stdout.flush()
    except (EmbedError, ValueError) as error:
        return fail(str(error))
    except BrokenPipeError:  # `lattice-embed embed ... | head -1`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lattice-embed", description="Fast vector similarity and embedding-model migration.")
    commands = parser.add_subparsers(dest="command", required=True)

    info = commands.add_parser("info", help="print version, build flags, CPU features and tiers")
    info.set_defaults(run=_info)

    bench = commands.add_parser("bench", help="time the kernels against numpy on this machine")
    bench.add_argument("--dims", type=int, nargs="+", default=[384, 768, 1536],
                       help="vector lengths to time (default: 384 768 1536)")
    bench.add_argument("--seconds", type=float, default=0.2,
                       help="time budget per measurement (default: 0.2)")
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. User errors (a bad model, store, input or state) print one line on
    stderr and exit with status 2."""
    from lattice_embed.engine.cli import CommandError
    from lattice_embed.engine.errors import EngineError
    from lattice_embed.migration import MigrationError
    from lattice_embed.service.errors import EmbedError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:  # `... | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CommandError, EngineError, EmbedError, MigrationError, ValueError, TypeError,
            OSError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"lattice-embed {_command_name(args)}: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
