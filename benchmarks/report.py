"""The speed figures of README.md and benchmarks/README.md, from the committed results files.

    python benchmarks/report.py                  # print every generated section
    python benchmarks/report.py --write          # rewrite them in README.md, benchmarks/README.md
    python benchmarks/report.py --check          # exit 1 if a file differs (tests run this)
    python benchmarks/report.py results/x.json   # the tables of any pytest-benchmark files

A generated section sits between `<!-- report.py: NAME -->` and `<!-- /report.py -->`; nothing
between those lines is written by hand, so every figure there, prose included, is computed from
a file in benchmarks/results/ that names its machine (benchmarks/machine.py). Tables: each
implementation's median and best time over its rounds, the spread of those rounds (interquartile
range over the median), and how many times faster it is than numpy and than the best peer, by
median and by best time, all from the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import describe  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PEERS = ("simsimd", "faiss", "numkong")  # and "numpy sgemm", the BLAS peer of many queries
Stats = dict[str, Any]


# ---- reading ------------------------------------------------------------------------------------


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / f"{name}.json").read_text())
    return data


def _impl(bench: dict[str, Any]) -> str:
    params = bench.get("params") or {}
    name: str = params.get("impl") or bench["name"].split("[", 1)[-1].rstrip("]")
    return name


def groups(data: dict[str, Any]) -> dict[str, dict[str, Stats]]:
    found: dict[str, dict[str, Stats]] = {}
    for bench in data["benchmarks"]:
        found.setdefault(bench["group"], {})[_impl(bench)] = bench["stats"]
    return found


def is_peer(name: str) -> bool:
    return name.startswith(PEERS) or name == "numpy sgemm"


def spread(stats: Stats) -> float:
    """The rounds' interquartile range over their median."""
    return float(stats["iqr"]) / float(stats["median"])


# ---- formatting ---------------------------------------------------------------------------------


def fmt(seconds: float) -> str:
    """3 significant figures at most: 117 ns, 9.61 ms, 1.49 s."""
    for unit, scale in (("ns", 1e9), ("us", 1e6), ("ms", 1e3), ("s", 1.0)):
        value = seconds * scale
        if value < 1000 or unit == "s":
            return f"{value:#.3g}".rstrip(".") + f" {unit}" if value < 100 else f"{value:,.0f} {unit}"
    raise AssertionError("unreachable")


def _ratios(reference: Stats | None, stats: Stats) -> str:
    """How many times faster than `reference`: by median and by best time."""
    if reference is None:
        return ""
    return f"{reference['median'] / stats['median']:.2f}x / {reference['min'] / stats['min']:.2f}x"


def table(group: str, impls: dict[str, Stats]) -> list[str]:
    peers = [stats for name, stats in impls.items() if is_peer(name)]
    best_peer = min(peers, key=lambda stats: stats["median"]) if peers else None
    lines = [f"**{group}**", "",
             "| implementation | median | best | spread | rounds | vs numpy (median / best) "
             "| vs best peer (median / best) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, stats in sorted(impls.items(), key=lambda item: item[1]["median"]):
        lines.append(f"| {name} | {fmt(stats['median'])} | {fmt(stats['min'])} | "
                     f"{spread(stats):.0%} | {stats['rounds']:,} | "
                     f"{_ratios(impls.get('numpy'), stats)} | {_ratios(best_peer, stats)} |")
    return [*lines, ""]


def machine_line(data: dict[str, Any], what: str) -> str:
    commit = data.get("commit_info", {})
    when = str(data.get("datetime", "?"))[:10]
    dirty = " (with uncommitted changes)" if commit.get("dirty") else ""
    return (f"{what}: {describe(data['machine_info'])}; measured {when} at commit "
            f"`{str(commit.get('id', '?'))[:10]}`{dirty}.")


def _range(values: list[float]) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f}x" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}-{high:.1f}x"


def compare(ours: Stats, theirs: Stats, name: str) -> str:
    """'1.31x faster than X', or 'level with X' when the difference is inside the rounds'
    spread, by median time."""
    ratio = theirs["median"] / ours["median"]
    noise = max(spread(ours), spread(theirs))
    if abs(ratio - 1) <= noise:
        return (f"level with {name} ({ratio:.2f}x by median, inside the rounds' spread of "
                f"{noise:.0%})")
    if ratio > 1:
        return f"{ratio:.2f}x faster than {name}"
    return f"{1 / ratio:.2f}x slower than {name}"


def of_floor(stats: Stats, floor: Stats) -> str:
    return f"{stats['min'] / floor['min']:.2f}x"


# ---- sections -----------------------------------------------------------------------------------


def section_dense() -> list[str]:
    data = load("dense")
    found = groups(data)
    tiers = sorted({name for impls in found.values() for name in impls
                    if name.startswith("lattice_embed")})
    lines = [machine_line(data, "Machine"), ""]
    for tier in tiers:
        vs_numpy = [impls["numpy"]["median"] / impls[tier]["median"]
                    for impls in found.values() if tier in impls]
        vs_peer = [impls["simsimd"]["median"] / impls[tier]["median"]
                   for impls in found.values() if tier in impls and "simsimd" in impls]
        peer = f"; {_range(vs_peer)} simsimd's speed" if vs_peer else ""
        lines.append(f"- `{tier}`: {_range(vs_numpy)} numpy's speed{peer} (by median time, "
                     f"over the {len(vs_numpy)} groups below)")
    lines.append("")
    for group, impls in found.items():
        lines += table(group, impls)
    return lines


def section_batch() -> list[str]:
    data = load("batch")
    found = groups(data)
    lines = [machine_line(data, "Machine"), ""]
    one = [(group, impls) for group, impls in found.items() if "floor" in impls
           and "lattice_embed" in impls]
    for group, impls in one:
        peers = [f"{compare(impls['lattice_embed'], stats, name)}"
                 for name, stats in impls.items() if is_peer(name)]
        text = f"- {group}: lattice_embed at {of_floor(impls['lattice_embed'], impls['floor'])} " \
            "of the floor (best times)"
        if "numpy" in impls:
            text += f"; {compare(impls['lattice_embed'], impls['numpy'], 'numpy')}"
        if peers:
            text += "; " + "; ".join(peers)
        lines.append(text + ".")
    for group, impls in found.items():
        if group in dict(one) or "lattice_embed" not in impls:
            continue
        others = [compare(impls["lattice_embed"], stats, name) for name, stats in impls.items()
                  if is_peer(name) or name == "numpy"]
        threads = impls.get("lattice_embed 2 threads")
        text = f"- {group}: lattice_embed " + "; ".join(others)
        if threads:
            speedup = impls["lattice_embed"]["median"] / threads["median"]
            text += f"; 2 threads are {speedup:.2f}x faster than one"
        lines.append(text + ".")
    lines.append("")
    for group, impls in found.items():
        if "floor" in impls:
            lines.append(f"Floor: {fmt(impls['floor']['min'])}.\n")
        lines += table(group, impls)
    return lines


def section_quant() -> list[str]:
    data = load("quant")
    found = groups(data)
    lines = [machine_line(data, "Machine"), ""]
    for group, impls in found.items():
        ours = impls["lattice_embed"]
        parts = []
        if "floor" in impls:
            parts.append(f"at {of_floor(ours, impls['floor'])} of the one-stream floor")
        parts += [compare(ours, stats, name) for name, stats in impls.items()
                  if is_peer(name) or name == "numpy"]
        reference = next((name for name in impls if name.startswith("numpy sgemm (")), None)
        if reference:
            parts.append(f"{compare(ours, impls[reference], 'numpy sgemm')} over float32 rows")
        if "lattice_embed float32 rows" in impls:
            parts.append(f"{compare(ours, impls['lattice_embed float32 rows'], 'itself')} over float32 rows")
        lines.append(f"- {group}: lattice_embed " + "; ".join(parts) + ".")
    lines.append("")
    for group, impls in found.items():
        if "floor" in impls:
            lines.append(f"Floor: {fmt(impls['floor']['min'])}.\n")
        lines += table(group, impls)
    return lines


def embed_rates() -> tuple[dict[str, Any], dict[str, list[float]], dict[str, float]]:
    """(the file, sentences/s of every round per row, best cold start per row)."""
    data = load("embed_rounds")
    rates = {name: sorted((data["texts"] / s for s in seconds), reverse=True)
             for name, seconds in data["seconds"].items()}
    cold = {name: min(seconds) for name, seconds in data["cold_start_seconds"].items()}
    return data, rates, cold


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def section_embed() -> list[str]:
    data, rates, cold = embed_rates()
    lines = [machine_line(data, "Machine"), "",
             f"{data['texts']} sentences of about 20 words in batches of {data['batch']}, "
             f"{data['rounds']} interleaved rounds (one round of every row, then the next); "
             "sentences/s. Cold start: a new interpreter imports, loads the model and embeds "
             f"one text, best of its runs.", "",
             "| implementation | best | median | worst | cold start |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for name, values in rates.items():
        backend = next((key for key in cold if name.startswith(key)), None)
        start = f"{cold[backend]:.2f} s" if backend and name.endswith(" 1 thread") else ""
        lines.append(f"| {name} | {values[0]:.0f} | {_median(values):.0f} | {values[-1]:.0f} "
                     f"| {start} |")
    lines.append("")
    native = {t: rates[f"lattice_embed native {t}"] for t in ("1 thread", "2 threads")
              if f"lattice_embed native {t}" in rates}
    for t, values in native.items():
        onnx = rates.get(f"onnxruntime {t}")
        if onnx:
            ratio = _median(values) / _median(onnx)
            low = values[-1] / onnx[0]
            high = values[0] / onnx[-1]
            lines.append(f"- {t}: the native encoder gives {ratio:.2f}x onnxruntime's "
                         f"sentences/s by median (from {low:.2f}x, its worst round against "
                         f"onnxruntime's best, to {high:.2f}x).")
    return [*lines, ""]


def _best_peer(impls: dict[str, Stats]) -> tuple[str, Stats] | None:
    peers = [(name, stats) for name, stats in impls.items() if is_peer(name)]
    return min(peers, key=lambda item: item[1]["min"]) if peers else None


def section_speed() -> list[str]:
    """README.md's table: best times, one line per case, every figure from the results files."""
    dense, batch, quant = (groups(load(name)) for name in ("dense", "batch", "quant"))
    embed_data, rates, cold = embed_rates()
    machines = {describe(load(name)["machine_info"]) for name in ("dense", "batch", "quant")}
    machines.add(describe(embed_data["machine_info"]))
    rows = ["| case | lattice_embed | best peer | numpy |", "| --- | ---: | ---: | ---: |"]

    def row(label: str, impls: dict[str, Stats] | None, extra: str = "",
            numpy: str = "numpy", ours: str = "lattice_embed") -> None:
        if not impls or ours not in impls:
            return
        peer = _best_peer(impls)
        two = impls.get("lattice_embed 2 threads")
        mine = fmt(impls[ours]["min"]) + (f"; 2 threads {fmt(two['min'])}" if two else "")
        floor = f" (floor {fmt(impls['floor']['min'])})" if "floor" in impls else ""
        theirs = f"{peer[0]} {fmt(peer[1]['min'])}" if peer else ""
        base = fmt(impls[numpy]["min"]) if numpy in impls else ""
        rows.append(f"| {label}{floor}{extra} | {mine} | {theirs} | {base} |")

    row("dot, one pair, d = 768", dense.get("dot f32 d=768"))
    row("cosine, one pair, d = 768", dense.get("cosine f32 d=768"))
    row("1 query vs 100k rows, dot scores", batch.get("1 query vs N: dot scores"))
    row("1 query vs 100k rows, cosine scores", batch.get("1 query vs N: cosine scores"))
    row("top-10 of 1 query vs 100k rows, dot", batch.get("1 query vs N: top-10 (dot)"))
    row("normalize 100k rows in place", batch.get("normalize N rows in place"))
    row("1,000 queries vs 100k rows, dot scores", batch.get("1,000 queries x N: dot scores"))
    row("1,000 queries vs 100k rows, top-10", batch.get("1,000 queries x N: top-10 (dot)"))
    row("1 query vs 100k int8 rows", quant.get("1 query vs N: int8 stored (dot)"))
    row("1 query vs 100k bf16 rows", quant.get("1 query vs N: bf16 stored (dot)"))
    row("1,000 queries vs 100k int8 rows", quant.get("1,000 queries x N: int8 stored (dot)"))
    row("1,000 queries vs 100k bf16 rows", quant.get("1,000 queries x N: bf16 stored (dot)"))
    native = [rates.get(f"lattice_embed native {t}") for t in ("1 thread", "2 threads")]
    onnx = [rates.get(f"onnxruntime {t}") for t in ("1 thread", "2 threads")]
    if native[0] and native[1]:
        peer = " / ".join(f"{values[0]:.0f}" for values in onnx if values)
        rows.append(f"| all-MiniLM-L6-v2, sentences/s, 1 / 2 threads (higher is better) | "
                    f"{native[0][0]:.0f} / {native[1][0]:.0f} | "
                    f"{'onnxruntime ' + peer if peer else ''} | |")
    if "lattice_embed native" in cold:
        peer_cold = f"onnxruntime {cold['onnxruntime']:.2f} s" if "onnxruntime" in cold else ""
        rows.append(f"| embedding cold start (import, load, first text) | "
                    f"{cold['lattice_embed native']:.2f} s | {peer_cold} | |")
    torch_rows = [rates.get(f"sentence-transformers {t}") for t in ("1 thread", "2 threads")]
    lines = [
        f"Measured on {'; '.join(sorted(machines))}. One thread unless stated, best of each "
        "row's rounds (medians, the rounds' spread and ratios: "
        "[`benchmarks/README.md`](benchmarks/README.md)); d = 768, \"100k rows\" a 100,000 x 768 "
        "float32 matrix (307 MB); a floor streams the same bytes once, as one sequential "
        "stream, through the simplest kernel (kernels that walk several streams at once can "
        "beat it).",
        "", *rows, ""]
    if torch_rows[0] and torch_rows[1]:
        start = (f", {cold['sentence-transformers']:.1f} s cold start"
                 if "sentence-transformers" in cold else "")
        lines += [f"sentence-transformers on torch: {torch_rows[0][0]:.0f} / "
                  f"{torch_rows[1][0]:.0f} sentences/s{start}.", ""]
    return lines


def section_engine() -> list[str]:
    """The migration engine's overhead (bench_engine.py): interleaved rounds, and the write rate
    from its pytest-benchmark file."""
    rounds = load("engine_rounds")
    texts, backfill, search = rounds["texts"], rounds["backfill_seconds"], rounds["search_seconds"]
    bare, engine = backfill["bare encoder"], backfill["engine"]
    top_k, ours = search["simd.top_k"], search["Engine.search_vector"]
    through = [min(bare) / min(engine), _median(bare) / _median(engine)]
    slower = [min(ours) / min(top_k), _median(ours) / _median(top_k)]
    writes = groups(load("engine")).get("store writes: Engine.add of 2,048 documents, 384-d", {})
    lines = [machine_line(rounds, "Machine"), "",
             f"Interleaved rounds (`python -m benchmarks.bench_engine --json "
             f"benchmarks/results/engine_rounds.json`): {len(bare)} of the backfill, "
             f"{len(top_k)} of the search (10 calls each).", "",
             "| case | bare | engine | engine / bare (best, median) | target |",
             "| --- | ---: | ---: | ---: | ---: |",
             f"| backfill: {texts} texts of ~20 words, all-MiniLM-L6-v2 native on 2 threads, "
             f"batches of {rounds['batch']} | {texts / min(bare):.0f} texts/s | "
             f"{texts / min(engine):.0f} texts/s | throughput {through[0]:.2f}x, "
             f"{through[1]:.2f}x | >= 0.95x |",
             f"| search: 1 query against a stored {rounds['rows']:,} x {rounds['dims']} space, "
             f"k = 10, cosine, default threads | `simd.top_k` {fmt(min(top_k))} | "
             f"`Engine.search_vector` {fmt(min(ours))} | time {slower[0]:.2f}x, "
             f"{slower[1]:.2f}x | <= 1.1x |", ""]
    if writes:
        stats = next(iter(writes.values()))
        lines += [f"Writes (`engine.json`, pytest-benchmark): `Engine.add` of 2,048 documents "
                  f"with a model-free 384-d encoder, {fmt(stats['min'])} best, "
                  f"{fmt(stats['median'])} median of {stats['rounds']} rounds: "
                  f"{2048 / stats['min']:,.0f} documents/s at best.", ""]
    return lines


def section_scaleout() -> list[str]:
    """PostgreSQL and Ray (bench_scaleout.py)."""
    data = load("scaleout")
    rates = {row["case"]: row for row in data["backfill"]}
    one = rates.get("Ray, 1 worker", {}).get("documents_per_second")
    lines = [machine_line(data, "Machine"), "",
             "| backfill of {:,} texts, all-MiniLM-L6-v2, batches of 64 | documents/s | whole "
             "run |".format(data["texts"]), "| --- | ---: | ---: |"]
    for case, row in rates.items():
        scale = (f" ({row['documents_per_second'] / one:.2f}x one worker)"
                 if one and case.startswith("Ray, 2") else "")
        lines.append(f"| {case} | {row['documents_per_second']:.0f}{scale} | "
                     f"{row['wall_seconds']:.1f} s |")
    lines += ["", f"| search, 1 query against {data['rows']:,} x 384, k = 10 | best | median |",
              "| --- | ---: | ---: |"]
    for row in data["search"]:
        lines.append(f"| {row['case']} | {row['best_ms']:.1f} ms | {row['median_ms']:.1f} ms |")
    return [*lines, ""]


#: One-query rows of bench_one_query.py: ours, then the numpy, faiss and simsimd cases it is
#: compared with (None where a peer has no such kernel).
ONE_QUERY_ROWS = (
    ("dot", "numpy M @ q", "faiss inner products", "simsimd dot"),
    ("cosine", "numpy M @ q", None, "simsimd cosine"),
    ("l2sq", "numpy M @ q", "faiss L2 squared", None),
    ("top-10 dot", "numpy top-10", "faiss.knn top-10", None),
    ("top-10 cosine", "numpy top-10", None, None),
)


def _round_ratio(seconds: dict[str, list[float]], ours: str, theirs: str) -> float:
    """Median over interleaved rounds of ours / theirs."""
    return _median([a / b for a, b in zip(seconds[ours], seconds[theirs], strict=True)])


def section_one_query() -> list[str]:
    """One query against 100k rows at d = 384 and 768 (bench_one_query.py, interleaved rounds):
    times as ratios to numpy, faiss, simsimd and the read floors, against issue 15's targets."""
    data = load("one_query")
    lines = [machine_line(data, "Machine"), "",
             f"Interleaved rounds (`OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_one_query "
             f"--json benchmarks/results/one_query.json`): {data['rounds']} rounds of every case, "
             f"{data['rows']:,} float32 rows, one thread unless stated. A ratio is the median "
             "over the rounds of our time over theirs (below 1: ours is faster); targets: at most "
             "0.85x numpy and faiss, cosine within 1.05x of dot. The best 1-thread floor is the "
             "faster of 4 and 8 streams in each round.", "",
             "| d | case | median | / numpy | / faiss | / simsimd | / floor, 1 stream | "
             "/ best 1-thread floor |", "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    notes = []
    for dims, seconds in data["seconds"].items():
        best = dict(seconds)  # plus the best floors of each round
        best["floor: 1 thread"] = [min(a, b) for a, b in zip(
            seconds["floor: 4 streams"], seconds["floor: 8 streams"], strict=True)]
        best["floor: 2 threads"] = [min(a, b) for a, b in zip(
            seconds["floor: 2 threads x 4 streams"], seconds["floor: 2 threads x 8 streams"],
            strict=True)]

        def cell(ours: str, theirs: str | None, best: dict[str, list[float]] = best) -> str:
            return f"{_round_ratio(best, ours, theirs):.2f}x" if theirs in best else ""

        for ours, numpy, faiss, simsimd in ONE_QUERY_ROWS:
            lines.append(f"| {dims} | {ours} | {fmt(_median(seconds[ours]))} | "
                         f"{cell(ours, numpy)} | {cell(ours, faiss)} | {cell(ours, simsimd)} | "
                         f"{cell(ours, 'floor: 1 stream')} | {cell(ours, 'floor: 1 thread')} |")
        floors = _round_ratio(best, "floor: 1 thread", "floor: 2 threads")
        reach = " (so 1.6x is out of reach here)" if floors < 1.6 else ""
        notes.append(
            f"- d = {dims}: cosine takes {_round_ratio(best, 'cosine', 'dot'):.2f}x dot's time. "
            f"Dot on 2 threads is {_round_ratio(best, 'dot', 'dot, 2 threads'):.2f}x as fast as "
            f"on one, at {_round_ratio(best, 'dot, 2 threads', 'floor: 2 threads'):.2f}x the "
            f"time of the 2-thread read floor ({fmt(_median(best['floor: 2 threads']))}), which "
            f"is {floors:.2f}x as fast as the best 1-thread read "
            f"({fmt(_median(best['floor: 1 thread']))}){reach}.")
    return [*lines, "", *notes, ""]


RECALL_TIERS = ("int8", "bf16", "int4", "binary")


def _set_label(found: dict[str, Any]) -> str:
    if found["set"] == "wide":
        return f"wide: 50 clusters, spread {found['spread']:g}"
    if found["set"] == "narrow":
        return f"narrow: {found['clusters']} clusters, spread {found['spread']:g}"
    return f"{found['set']} (the demo's corpus)"


def _lowest(runs: list[dict[str, Any]], read: Callable[[dict[str, Any]], float]) -> str:
    return f"{min(read(run) for run in runs):.3f}"


def section_recall() -> list[str]:
    """Recall@10 of the compressed tiers, and what rescoring costs (bench_recall.py)."""
    data = load("recall")
    by_set: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for found in data["sets"]:
        by_set.setdefault((_set_label(found), found["rows"]), []).append(found)
    lines = [machine_line(data, "Machine"), "",
             f"Recall@10 against the exact float32 top 10 (`python -m benchmarks.bench_recall "
             f"--json benchmarks/results/recall.json`), {data['dims']}-d unit vectors; the lowest "
             "over the seeds measured. \"plain\": `top_k` on the compressed rows alone; \"int4 "
             "asym.\": a numpy prototype scoring the float query against the int4 rows (same "
             "bytes, query not quantized); \"rescored\": `top_k(..., rescore=)` at the default "
             "candidates, the lowest tier's figure.", "",
             "| set | rows | queries | 10th - 11th cosine | int8 | bf16 | int4 | int4 asym. "
             "| binary | rescored |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for (label, rows), runs in by_set.items():
        plain = [_lowest(runs, lambda run, tier=tier: run["tiers"][tier]["plain"])
                 for tier in RECALL_TIERS]
        plain.insert(3, _lowest(runs, lambda run: run["tiers"]["int4"]["asymmetric_plain"]))
        rescored = _lowest(runs, lambda run: min(entry["default_rescored"]
                                                 for entry in run["tiers"].values()))
        gap = min(run["gap_10_11"] for run in runs)
        lines.append(f"| {label} | {rows:,} | {runs[0]['queries']} | {gap:.4f} | "
                     + " | ".join(plain) + f" | {rescored} |")
    lines += ["", "Candidates per result needed for recall@10 >= 0.99 (the smallest factor of "
              f"{', '.join(str(f) for f in data['factors'])} that reached it on every seed), "
              "against the default (`RESCORE_FACTORS`):", "",
              "| set | rows | " + " | ".join(RECALL_TIERS) + " |",
              "| --- | ---: | " + " | ".join("---:" for _ in RECALL_TIERS) + " |"]
    first = data["sets"][0]["tiers"]
    lines.append("| default | | " + " | ".join(f"{first[tier]['default_factor']}"
                                                for tier in RECALL_TIERS) + " |")
    for (label, rows), runs in by_set.items():
        cells = []
        for tier in RECALL_TIERS:
            enough = [int(f) for f in map(str, data["factors"])
                      if all(run["tiers"][tier]["rescored"][f] >= 0.99 for run in runs)]
            cells.append(str(min(enough)) if enough else f"> {data['factors'][-1]}")
        lines.append(f"| {label} | {rows:,} | " + " | ".join(cells) + " |")
    timed = next((run for run in data["sets"] if "seconds_plain" in run["tiers"]["int8"]), None)
    if timed:
        rows, dims = timed["rows"], data["dims"]
        lines += ["", f"Cost of one query against {rows:,} x {dims} rows at the defaults, "
                  f"k = {data['k']}, one thread ({_set_label(timed)}; best of interleaved "
                  "rounds): bytes read are the compressed scan (rows x bytes per row) plus the "
                  f"float32 rows rescored (candidates x {dims} x 4).", "",
                  "| tier | scan | rescored rows | top-10 plain | top-10 rescored | float32 "
                  "top-10 |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for tier in RECALL_TIERS:
            entry = timed["tiers"][tier]
            candidates = min(entry["default_factor"] * data["k"], rows)
            lines.append(
                f"| {tier} | {entry['bytes_per_row'] * rows / 1e6:.1f} MB | {candidates:,} "
                f"({candidates * dims * 4 / 1e6:.2f} MB) | {fmt(entry['seconds_plain'])} | "
                f"{fmt(entry['seconds_default_rescored'])} | "
                f"{fmt(entry['seconds_float32_top_k'])} ({rows * dims * 4 / 1e6:.0f} MB) |")
    return [*lines, ""]


def section_machines() -> list[str]:
    lines = ["| results file | machine, date and commit |", "| --- | --- |"]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        lines.append(f"| `{path.name}` | {machine_line(data, 'machine').split(': ', 1)[1]} |")
    return [*lines, ""]


SECTIONS: dict[str, tuple[Path, Callable[[], list[str]]]] = {
    "speed": (HERE.parent / "README.md", section_speed),
    "machines": (HERE / "README.md", section_machines),
    "dense": (HERE / "README.md", section_dense),
    "batch": (HERE / "README.md", section_batch),
    "one_query": (HERE / "README.md", section_one_query),
    "quant": (HERE / "README.md", section_quant),
    "embed": (HERE / "README.md", section_embed),
    "engine": (HERE / "README.md", section_engine),
    "scaleout": (HERE.parent / "README.md", section_scaleout),
    "scaleout_bench": (HERE / "README.md", section_scaleout),
    "recall": (HERE.parent / "README.md", section_recall),
    "recall_bench": (HERE / "README.md", section_recall),
}
MARK = re.compile(r"<!-- report\.py: (\w+) -->\n.*?<!-- /report\.py -->", re.DOTALL)


def rendered(text: str) -> str:
    """`text` with every generated section it holds written afresh."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        body = "\n".join(_wrapped(SECTIONS[name][1]())).rstrip("\n")
        return f"<!-- report.py: {name} -->\n{body}\n<!-- /report.py -->"

    return MARK.sub(fill, text)


def _wrapped(lines: list[str]) -> list[str]:
    """Prose lines wrapped at 100 columns, as the hand-written text; tables left whole."""
    out: list[str] = []
    for line in lines:
        if line.startswith("|") or len(line) <= 100:
            out.append(line)
        else:
            out += textwrap.wrap(line, width=100, subsequent_indent="  " if
                                 line.startswith("- ") else "", break_on_hyphens=False,
                                 break_long_words=False)
    return out


def files() -> list[Path]:
    return sorted({path for path, _ in SECTIONS.values()})


def render_files(paths: list[Path]) -> str:
    """The tables of any pytest-benchmark files (the original command-line use)."""
    lines: list[str] = []
    for path in paths:
        data = json.loads(path.read_text())
        lines.append(machine_line(data, path.name) + "\n")
        for group, impls in groups(data).items():
            if "floor" in impls:
                lines.append(f"Floor: {fmt(impls['floor']['min'])}.\n")
            lines += table(group, impls)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="pytest-benchmark JSON files")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the generated sections")
    mode.add_argument("--check", action="store_true", help="exit 1 if a section is stale")
    args = parser.parse_args(argv)
    if args.paths:
        print(render_files(args.paths))
        return 0
    stale = []
    for path in files():
        text = path.read_text()
        fresh = rendered(text)
        if args.write and fresh != text:
            path.write_text(fresh)
        elif args.check and fresh != text:
            stale.append(str(path))
        elif not args.write and not args.check:
            print(f"# {path}\n" + "\n\n".join(m.group(0) for m in MARK.finditer(fresh)))
    if stale:
        print(f"stale generated sections in {', '.join(stale)}: run python benchmarks/report.py "
              "--write", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
