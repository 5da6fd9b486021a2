"""Planted purchases come back out of the report: every one attributed, revenue per variant."""

from __future__ import annotations

import asyncio
from pathlib import Path

import botkit
from botkit.metrics.compute import conversations_of, measure
from botkit.metrics.synthetic import Behaviour, Purchase, Step, Summary, simulate
from botkit.records import BusinessEvent, Record
from botkit.storage import MemoryStore

FLOWS = Path(__file__).parent / "flows"


def test_planted_purchases_are_attributed_with_their_revenue_per_variant() -> None:
    app = botkit.load(FLOWS)
    behaviour = Behaviour(
        steps={"signup.start": Step(says={"가입할게요": 1, "괜찮아요": 1})},
        purchase=Purchase(
            probability=0.1, experiment="copy", by_variant={"B": 0.4}, amount=(10_000, 20_000)
        ),
    )
    store = MemoryStore()

    async def run() -> tuple[Summary, list[Record], list[BusinessEvent]]:
        summary = await simulate(app, behaviour, 400, seed=3, store=store)
        await store.open()
        records, events = await store.records(), await store.events()
        await store.close()
        return summary, records, events

    summary, records, events = asyncio.run(run())
    planted = [p for p in summary.paths if p.bought is not None]
    assert len(events) == len(planted) > 0
    metrics = measure(app.bot, conversations_of(records), events=events)
    purchases = metrics.business["purchase"]
    assert purchases["events"] == purchases["attributed"] == len(planted)
    assert purchases["attributed_amount"] == sum(p.bought or 0 for p in planted)
    for variant in ("A", "B"):
        bought = sum(p.bought or 0 for p in planted if p.variants.get("copy") == variant)
        assert metrics.revenue_by_variant.get(f"copy:{variant}", 0.0) == bought
    buyers = {v: sum(1 for p in planted if p.variants.get("copy") == v) for v in ("A", "B")}
    assert buyers["B"] > buyers["A"]  # planted: 40% against 10%
