"""Hand-written records: a conversation as the engine would record it, one line a record, for
tests that need a definition's exact case (or thousands of users fast) without driving the
engine. Only what the reports read is written; the data keys are those of botkit/records.py."""

from __future__ import annotations

from typing import Any

from botkit.records import Record

MINUTE = 60.0
DAY = 86_400.0


class Talk:
    """One user's session on one channel: its conversations' records, in order."""

    def __init__(self, user: str, channel: str = "web", bot: str = "shop_helper") -> None:
        self.user = user
        self.channel = channel
        self.bot = bot
        self.session = f"{channel}:{user}"
        self.conversation = 0
        self.seq = 0
        self.turn = 0
        self.flow = ""
        self.records: list[Record] = []

    def record(self, kind: str, at: float, **data: Any) -> Talk:
        self.seq += 1
        self.records.append(
            Record(
                kind,
                self.session,
                self.conversation,
                self.seq,
                self.turn,
                at,
                self.bot,
                self.flow,
                "v1",
                "",
                self.user,
                self.channel,
                data or None,
            )
        )
        return self

    def start(self, at: float, state: str, *, said: str = "안녕하세요") -> Talk:
        """A new conversation: the user's first words, and the state they are greeted at."""
        self.conversation += 1
        self.turn += 1
        self.flow = state.partition(".")[0]
        self.record("conversation_start", at, flow=self.flow, segment={}, locale="ko")
        self.record("message_in", at, text=said, payload=None)
        return self.record("transition", at, to=state, trigger="start", **{"from": None})

    def opens(self, at: float, flow: str) -> Talk:
        """A new conversation with its ``conversation_start`` only: for tests that write many
        and read nothing of what was said (the reports count no ``message_in`` text)."""
        self.conversation += 1
        self.turn += 1
        self.flow = flow
        return self.record("conversation_start", at, flow=flow, segment={}, locale="ko")

    def says(self, at: float, text: str = "네") -> Talk:
        self.turn += 1
        return self.record("message_in", at, text=text, payload=None)

    def to(self, at: float, state: str, trigger: str = "choice: 다음") -> Talk:
        here = next(
            (r.data["to"] for r in reversed(self.records) if r.kind == "transition" and r.data),
            None,
        )
        self.flow = state.partition(".")[0]
        return self.record("transition", at, to=state, trigger=trigger, **{"from": here})

    def filled(self, at: float, slot: str, value: Any = "…") -> Talk:
        return self.record("slot_filled", at, slot=slot, attempt=1, value=value)

    def goal(self, at: float, goal: str) -> Talk:
        return self.record("goal", at, goal=goal)

    def end(self, at: float, outcome: str = "resolved") -> Talk:
        return self.record("conversation_end", at, outcome=outcome)

    def exposed(self, at: float, experiment: str, variant: str) -> Talk:
        return self.record("experiment", at, experiment=experiment, variant=variant)

    def asks_for_person(
        self,
        at: float,
        *,
        open_: bool = True,
        cause: str | None = "user_request",
        trigger: str | None = "keywords: 상담원",
        reason: str = "user_request",
    ) -> Talk:
        """A handoff asked for: queued when someone could be there (``open_``), else not."""
        data: dict[str, Any] = {"reason": reason, "queue": "cs", "open": open_}
        if cause is not None:  # records kept before issue 18 have no cause
            data |= {"cause": cause, "trigger": trigger, "from": None}
        self.record("handoff_requested", at, **data)
        if open_:
            self.record("handoff_queued", at, queue="cs")
        return self
