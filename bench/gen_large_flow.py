"""Write a large, valid flow: 1,000 states and 5,000 transitions (by default).

    python bench/gen_large_flow.py [--states N] [--out bench/out/large/large.yaml]

Every state says something (with quick replies), and has five transitions of different kinds
(payload, keywords, regex, examples, and a conditional one), so that checking it exercises the
schema, every reference check, the regex checks and the graph checks at scale.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def large_flow(states: int) -> str:
    out = [
        "# yaml-language-server: $schema=../../../botkit/flow/schema/flow.schema.json",
        "flow: large",
        "title: 큰 흐름",
        "start: s0",
        "slots:",
        "  score:",
        "    type: number",
        "    prompt: 점수를 알려 주세요",
        "    min: 1",
        "    max: 5",
        "states:",
    ]
    for i in range(states):
        a, b, c, d = ((i + k) % states for k in (1, 2, 3, 7))
        out += [
            f"  s{i}:",
            "    say:",
            f'      text: "{i}번 단계예요. {{{{score}}}}점을 주셨어요. 다음으로 갈까요?"',
            "      quick_replies:",
            f"        - label: 다음 {a}",
            f"          payload: go_{a}",
            "        - label: 처음으로",
            "          to: s0",
            "    on:",
            f"      - payload: go_{a}",
            f"        to: s{a}",
            f"      - keywords: [건너뛰기 {i}, skip {i}]",
            f"        to: s{b}",
            f'      - regex: "^(?P<n>[0-9]{{1,3}})번 {i}$"',
            f"        to: s{c}",
            f'      - examples: ["{i}번 다시 보여줘", "{i} 처음부터"]',
            f"        to: s{d}",
            "      - any: true",
            f'        if: "score >= 3 and profile.level != {i}"',
            f"        to: s{(i + 11) % states}",
        ]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--states", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("bench/out/large/large.yaml"))
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(large_flow(args.states), encoding="utf-8")
    print(f"wrote {args.out}: {args.states} states, {args.states * 5} transitions")


if __name__ == "__main__":
    main()
