"""Kakao skill calls per second through ``botkit serve`` on PostgreSQL, with one and with two
workers (issue #9).

    python -m bench.pg_workers [--users 64] [--conversations 1000] [--seconds 30]
                               [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Runs ``bench.http_kakao`` twice against the PostgreSQL database (each run on a fresh schema,
dropped afterwards): ``botkit serve --store postgresql://… --workers 1``, then ``--workers 2``.
Same users, same conversation script, same checks (every answer a SkillResponse, every
acknowledged turn persisted). Prints each run's table, then the two side by side and a final
JSON line with both.

On a 2-core machine the load generator, PostgreSQL and the workers share the cores, so a
second worker gains what the first left idle, not twice as much; the figures say how much.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.http_kakao import arguments, run


def postgres_cpu_s() -> float | None:
    """CPU seconds used so far by the local PostgreSQL: its live processes, plus what its
    ended backends used (counted in the postmaster's children's time). None without /proc or
    without a local server."""
    total, found = 0.0, False
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        found = True
        total += int(fields[11]) + int(fields[12])
        if fields[1] == "1" or Path(f"/proc/{fields[1]}/comm").read_text().strip() != "postgres":
            total += int(fields[13]) + int(fields[14])  # the postmaster: its reaped children
    return total / os.sysconf("SC_CLK_TCK") if found else None


def main() -> None:
    parser = arguments(__doc__)
    parser.set_defaults(store="postgresql", conversations=1000, seconds=30.0)
    args = parser.parse_args()
    if args.store != "postgresql":
        parser.error("this bench compares workers on PostgreSQL: leave --store alone")
    results = []
    for workers in (1, 2):
        args.workers = workers
        print(f"== {workers} worker{'s' if workers > 1 else ''} on PostgreSQL")
        before = postgres_cpu_s()
        result = run(args)
        after = postgres_cpu_s()
        result["postgres_cpu_s"] = (
            None if before is None or after is None else round(after - before, 2)
        )
        print(f"{'CPU s: PostgreSQL (whole run)':40} {result['postgres_cpu_s']}")
        results.append(result)
        print()
    print(f"{'workers':10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'lost':>5}")
    for result in results:
        lost = result["turns_acknowledged"] - result["message_in_persisted"]
        print(
            f"{result['workers']:<10} {result['req_per_s']:>8.0f} {result['p50_ms']:>8.1f}"
            f" {result['p99_ms']:>8.1f} {result['errors']:>7} {max(lost, 0):>5}"
        )
    one, two = results
    print(f"command: {' '.join([sys.executable, *sys.argv])}")
    print(
        json.dumps(
            {
                "store": "postgresql",
                "one_worker": {k: one[k] for k in SUMMARY},
                "two_workers": {k: two[k] for k in SUMMARY},
                "speedup": round(two["req_per_s"] / one["req_per_s"], 2)
                if one["req_per_s"]
                else None,
                "lost_turns": sum(
                    max(r["turns_acknowledged"] - r["message_in_persisted"], 0) for r in results
                ),
                "errors": one["errors"] + two["errors"],
            },
            ensure_ascii=False,
        )
    )


SUMMARY = (
    "req_per_s",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "requests",
    "errors",
    "turns_acknowledged",
    "message_in_persisted",
    "server_cpu_s",
    "postgres_cpu_s",
    "client_cpu_s",
    "calibration_ms",
    "server_clean_exit",
)

if __name__ == "__main__":
    main()
