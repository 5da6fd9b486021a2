"""How long checking + compiling takes: a 1,000-state flow, and each hostile fixture.

    python bench/flow_check.py [--repeat 5]

Prints a table and, on its last line, one JSON object with the figures (seconds):
{"large_flow": {...}, "hostile": {file: seconds, ...}, "targets": {...}}.
Targets (issue #2): large flow <= 0.5 s; each hostile file <= 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

from bench.calibrate import calibrate
from bench.gen_large_flow import large_flow
from botkit.flow import compile_bot

ROOT = Path(__file__).resolve().parent.parent


def timed(paths: list[Path], repeat: int) -> tuple[float, int]:
    times = []
    problems = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = compile_bot(paths)
        times.append(time.perf_counter() - start)
        problems = len(result.errors)
    return statistics.median(times), problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    large = out / "large.yaml"
    large.write_text(large_flow(1000), encoding="utf-8")
    big = out / "bk105_five_megabytes.yaml"
    big.write_text("flow: big\n" + "# " + "x" * 78 + "\n" * 1 + ("a: " + "b" * 76 + "\n") * 65_000)
    speed_before = calibrate()
    large_time, large_errors = timed([large], args.repeat)
    assert large_errors == 0, "the generated flow must be valid"
    hostile: dict[str, float] = {}
    fixtures = [*sorted((ROOT / "tests" / "flow" / "broken").glob("*.yaml")), big]
    for path in fixtures:
        seconds, _ = timed([path], args.repeat)
        hostile[path.name] = round(seconds, 5)
    speed_after = calibrate()
    print(f"python {platform.python_version()} on {platform.machine()}, median of {args.repeat}")
    print(
        f"calibration (bench.calibrate, lower is a faster machine): "
        f"{speed_before:.1f} ms before, {speed_after:.1f} ms after"
    )
    print(f"{'large flow (1000 states, 5000 transitions)':60} {large_time * 1000:9.1f} ms")
    for name, seconds in sorted(hostile.items(), key=lambda kv: -kv[1])[:10]:
        print(f"{name:60} {seconds * 1000:9.2f} ms")
    worst = max(hostile.values()) if hostile else 0.0
    print(f"{'slowest of ' + str(len(hostile)) + ' hostile files':60} {worst * 1000:9.2f} ms")
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(
        json.dumps(
            {
                "calibration_ms": [round(speed_before, 1), round(speed_after, 1)],
                "large_flow_s": round(large_time, 4),
                "large_flow_size_bytes": large.stat().st_size,
                "hostile_max_s": round(worst, 5),
                "hostile_s": hostile,
                "targets": {"large_flow_s": 0.5, "hostile_max_s": 0.1},
                "met": large_time <= 0.5 and worst <= 0.1,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
