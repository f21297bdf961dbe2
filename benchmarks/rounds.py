"""Interleaved rounds: every case once per round, round after round, so that a slow spell of
this shared machine falls on all cases alike and their ratios stay fair."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping


def interleaved(cases: Mapping[str, Callable[[], object]], rounds: int, *,
                warm_up: bool = True) -> dict[str, list[float]]:
    """Seconds of each case in each of `rounds` rounds, after one untimed call of each
    (`warm_up`: page faults, lazy builds, thread pools)."""
    if warm_up:
        for run in cases.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):
        for name, run in cases.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds
