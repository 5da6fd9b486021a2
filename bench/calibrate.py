"""How fast is this machine right now? A fixed pure-Python workload, timed.

This shared 2-core VM runs the same code up to 1.7x slower from one minute to the next. Each
bench prints this figure before and after its runs so a reader can tell a slow machine from a
slow change: compare figures only between runs whose calibration is alike.
"""

from __future__ import annotations

import time


def _work() -> int:
    table: dict[int, int] = {}
    total = 0
    for i in range(200_000):
        table[i & 1023] = i
        total += table.get((i * 7) & 1023, 0) & 0xFF
    return total


def calibrate(repeat: int = 3) -> float:
    """Milliseconds for the fixed workload, best of ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        _work()
        best = min(best, time.perf_counter() - started)
    return best * 1000


if __name__ == "__main__":
    print(f"calibration: {calibrate():.1f} ms")
