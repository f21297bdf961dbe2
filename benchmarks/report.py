"""Render pytest-benchmark JSON as the markdown tables of benchmarks/README.md.

    python benchmarks/report.py benchmarks/results/*.json

One table per group: median and best time of each implementation and its speed relative to
numpy and to the best peer, all from the same run.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

PEERS = ("simsimd", "faiss", "numkong", "numpy sgemm")


def _fmt(seconds: float) -> str:
    for unit, scale in (("ns", 1e9), ("us", 1e6), ("ms", 1e3)):
        if seconds * scale < 10_000:
            return f"{seconds * scale:,.0f} {unit}"
    return f"{seconds:,.2f} s"


def _ratios(reference: dict | None, stats: dict) -> str:
    """How many times faster than `reference`: by median and by best time."""
    if reference is None:
        return ""
    return f"{reference['median'] / stats['median']:.1f}x / {reference['min'] / stats['min']:.1f}x"


def _impl(bench: dict) -> str:
    return bench["params"].get("impl") or bench["name"].split("[", 1)[-1].rstrip("]")


def render(paths: list[Path]) -> str:
    groups: dict[str, dict[str, dict]] = defaultdict(dict)
    machine = {}
    for path in paths:
        data = json.loads(path.read_text())
        machine = data.get("machine_info", machine)
        for bench in data["benchmarks"]:
            groups[bench["group"]][_impl(bench)] = bench["stats"]
    lines = []
    if machine:
        lines.append(f"Machine: {machine.get('cpu', {}).get('brand_raw', '?')}, "
                     f"Python {machine.get('python_version', '?')}.\n")
    for group, impls in groups.items():
        peers = [stats for name, stats in impls.items() if name.startswith(PEERS)]
        best_peer = min(peers, key=lambda stats: stats["median"]) if peers else None
        floor = impls.get("floor")
        if floor:  # how far each row is from the memory floor, by best times
            lines.append(f"Floor: {_fmt(floor['min'])}; lattice_embed at "
                         f"{impls['lattice_embed']['min'] / floor['min']:.2f}x of it.\n"
                         if "lattice_embed" in impls else "")
        lines += [f"**{group}**", "",
                  ("| implementation | median | best | vs numpy (median / best) "
                   "| vs best peer (median / best) |"),
                  "| --- | ---: | ---: | ---: | ---: |"]
        for name, stats in sorted(impls.items(), key=lambda item: item[1]["median"]):
            lines.append(f"| {name} | {_fmt(stats['median'])} | {_fmt(stats['min'])} | "
                         f"{_ratios(impls.get('numpy'), stats)} | {_ratios(best_peer, stats)} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render([Path(p) for p in sys.argv[1:]]))
