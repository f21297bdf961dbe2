"""The `lattice-embed` command: `info` (what the kernels run on) and `bench` (speed against numpy)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _info(args: argparse.Namespace) -> int:
    from lattice_embed.simd import show_runtime

    show_runtime()
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lattice_embed.bench import run_quick_bench

    print(run_quick_bench(dims=args.dims, seconds=args.seconds))
    return 0


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
