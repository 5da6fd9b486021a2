"""What botkit measures, each figure defined once, in the words of the people who read it.

Every figure of ``botkit report``, the dashboard and the JSON/CSV/HTML comes from the records
alone (botkit/records.py) and the business events the shop sends (``POST /events``). The
definitions below are the contract: docs/metrics.md shows them to marketers word for word
(tests/metrics/test_definitions_doc.py checks it), and each has a test on hand-built records
(marked ``@pytest.mark.defines("<name>")``; the same test file checks that every definition has
one). The code that applies them lives in fold.py (records → conversations), ends.py,
compute.py, money.py, conversion.py, retention.py, experiments.py, engagement.py,
sentiment.py and campaigns.py; it names these definitions and does not restate them.

Rates have conversations (or users, where said) as their denominator, so periods and bots
compare. A rate of nothing is unknown ("—"), not zero. Percentiles are nearest-rank: the
smallest value with at least p% of the values at or below it. Intervals are 95% Wilson score
intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFINITIONS", "METRICS", "Definition", "percentile", "rate"]


@dataclass(frozen=True, slots=True)
class Definition:
    """One figure: its name in reports, what people call it, and what it means."""

    name: str
    title: str
    words: str


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "conversation",
        "Conversation · 대화",
        "A conversation is one user's talk with the bot from its first message until it ends: "
        "at an end state, when an agent closes it, or when the user has been silent for the "
        "bot's inactivity timeout (30 minutes by default). A conversation belongs to the period "
        "in which it started, whole, even when it goes on after the period ends; a report of "
        "December counts the conversations that started in December.",
    ),
    Definition(
        "conversation_end",
        "End and duration · 종료와 대화 시간",
        "A conversation ends at its last activity: the last message of the user, the bot or an "
        "agent. A conversation nobody ended and whose last activity is longer ago than the "
        "inactivity timeout counts as abandoned at that last activity, whether or not the user "
        "ever comes back; one still inside the timeout is open. Duration is the time from its "
        "first message to its last activity.",
    ),
    Definition(
        "completion",
        "Completion · 완료율",
        "Completed conversations ÷ conversations. A conversation is completed when it reached "
        "one of the bot's goals, reached an end state marked resolved, or an agent closed it "
        "(botkit cannot tell how the agent's talk went; the helpdesk can). Leaving after the "
        "goal without reading the thank-you still counts as completed.",
    ),
    Definition(
        "drop_off",
        "Drop-off · 이탈",
        "Conversations that ended without being completed (the user left, or it was reset), "
        "counted at the place the user was left: the state, and for a state that asks several "
        "questions, the question being asked (for example 'order_status.ask_order · order_no'). "
        "Open conversations are not drop-offs yet. The ranking lists the places that lose the "
        "most conversations first.",
    ),
    Definition(
        "containment",
        "Containment · 자동 처리율",
        "Conversations in which nobody asked for a person ÷ conversations. A request for a "
        "person counts against containment however it ended: taken by an agent, asked outside "
        "business hours, left waiting until the timeout, or given up by the user. Next to it: "
        "served by an agent (an agent took the conversation) and asked but not served (a person "
        "was asked for and none took it: outside business hours, nobody in time, the user left "
        "the queue, or still waiting when the report is read), each ÷ conversations.",
    ),
    Definition(
        "handoff_cause",
        "Handoff cause · 상담원 연결 원인",
        "Why a conversation went to a person, as it happened: the user asked (their words or a "
        "button), an action failed or answered so (for example the courier lookup answered "
        "error), a rule of the flow (for example a satisfaction score of 1), the bot did not "
        "understand several times in a row, a question's attempts ran out, or an operator. "
        "Shown as the share of conversations per cause, and per cause and trigger.",
    ),
    Definition(
        "fallback_rate",
        "Fallback · 이해 실패율",
        "Messages the bot did not understand ÷ messages users sent.",
    ),
    Definition(
        "goal_conversion",
        "Goal conversion · 목표 달성률",
        "Per goal, the conversations that reached it ÷ conversations.",
    ),
    Definition(
        "revenue",
        "Revenue · 매출",
        "Money from business events, as bot.yaml's business_events says each kind counts: the "
        "amounts of kinds that add revenue (purchase) minus the amounts of kinds that give "
        "money back (refund). Events that are neither are counted, but carry no money. An "
        "event belongs to the period in which it happened.",
    ),
    Definition(
        "attribution",
        "Attribution · 기여 대화",
        "A business event is credited to the user's latest conversation that started before it "
        "and whose last activity was at most 7 days before it (last touch). An event 7 days "
        "and 1 second after the last activity is credited to no conversation, whether or not "
        "the user came back later. Revenue per variant, segment, channel or promotion is the "
        "revenue of the events credited to its conversations; per day, of the events that "
        "happened that day.",
    ),
    Definition(
        "conversion_rate",
        "Purchase conversion · 구매 전환율",
        "Per conversation: conversations credited with at least one conversion event (a "
        "purchase, or a kind bot.yaml marks as a conversion) ÷ conversations. Per user: users "
        "with at least one credited conversion ÷ users who had a conversation. Both with their "
        "95% interval, overall and for every breakdown (source, channel, variant, day).",
    ),
    Definition(
        "promotion",
        "Promotion funnel · 프로모션 성과",
        "A promotion counts only between its starts and ends days (both whole days, in the "
        "bot's time zone); showings outside them are left out and reported as outside its "
        "dates. Exposed: conversations that showed it. Engaged: of those, the ones where the "
        "user wrote afterwards. Clicked: the ones where the user pressed the promotion's own "
        "offer (its offer: list, such as 쿠폰 받기); '다음에요' or a menu button on the same "
        "screen is no click. Converted: the conversions credited to conversations that "
        "clicked, and revenue their net revenue. ROI: (revenue − cost) ÷ cost, where the cost "
        "is spread evenly over the promotion's days and a report is charged the days that fall "
        "in its period. A promotion that names no offer shows no clicks, conversions, revenue "
        "or ROI, and the report says why.",
    ),
    Definition(
        "experiment",
        "A/B experiment · A/B 실험",
        "The unit is the user, as assigned: one KakaoTalk user or one widget visitor stays in "
        "one variant, and counts once however many conversations they have. Exposed: users "
        "who had a conversation in the variant. "
        "Converted: exposed users who reached the experiment's goal within 7 days of their "
        "first exposure. Each variant's rate comes with its 95% interval, and each difference "
        "from the control with its interval and a p-value (Holm-corrected across variants).",
    ),
    Definition(
        "retention",
        "Repurchase · 재구매율",
        "Of the customers whose first purchase is at least N days (30 by default) before the end "
        "of the report, the share who bought again within N days of it, with its 95% interval. "
        "By cohort: the week of their first conversation, their acquisition source (the "
        "profile's source), each variant they were in, and the promotion whose offer they "
        "pressed before their first purchase ('none' if none). Customers whose N days are not "
        "over yet are not counted; the report says how many are waiting. A report of a period "
        "reads the customer's conversations from the week before it: for cohorts by first "
        "week over the whole history, report without --from.",
    ),
    Definition(
        "engagement",
        "Engagement · 참여",
        "Link click-through: per web link the bot shows, the conversations in which the user "
        "opened it (through botkit's redirect) ÷ the conversations in which it was shown, with "
        "its 95% interval. Response rate: the bot's turns (everything it says between two "
        "messages of the user) after which the user wrote again or pressed a choice in the same "
        "conversation ÷ the bot's turns, leaving out turns that ended the conversation and "
        "turns so recent the user may still answer. Conversations per day, on the day each "
        "started in the bot's time zone, with the trend: the least-squares slope per day, and "
        "the last 7 days against the 7 before.",
    ),
    Definition(
        "sentiment",
        "Sentiment · 감정",
        "Each free-text comment of a feedback question is read as positive, neutral or "
        "negative from the words in it: Korean and English word lists, with negation ('안 "
        "좋아요', 'not bad') and contrast ('빠르긴 한데 불친절해요': the part after '-는데' or "
        "'but' weighs more). Shown as counts and shares, overall and for low (1–2) and high "
        "(4–5) scorers, next to the scores and keywords; never the comments themselves. On "
        "228 hand-labelled comments kept aside for the purpose it is right 92.5% of the time "
        "(always answering the commonest label: 39.0%).",
    ),
    Definition(
        "campaign",
        "Campaign funnel · 캠페인 성과",
        "Eligible: every member a campaign decided about, counted once per run (once in all "
        "for a campaign started by an event or by entering a segment). Of those: excluded, per "
        "exclusion rule (for example recent_buyers); no consent (advertising to someone who "
        "had not agreed to it); capped (they had already been sent as many campaign messages "
        "as the caps allow); unreachable (on none of the campaign's channels); held out (the "
        "control group, sent nothing on purpose); the others are drawn a variant. Sent: handed "
        "to KakaoTalk, the widget or the dealer; delivered: of those, the ones the channel "
        "said arrived. Engaged: sent, and the user wrote to the bot or opened one of its links "
        "within the campaign's window after the message left. Converted: sent, and the "
        "customer made a conversion (a purchase) within the window after the message left (7 "
        "days unless the campaign says otherwise; a purchase at the window's last second "
        "counts, one a second later does not), on any channel linked to them. Revenue: the "
        "net revenue (refunds subtract) of the customer's business events in that window; "
        "cost: what the messages cost; ROI: (revenue − cost) ÷ cost. Messages still waiting, "
        "failed (tried again later), parked (given up after repeated failures), expired (not "
        "sent in time) and withdrawn (consent withdrawn before they left) are counted apart. "
        "A campaign's messages belong to the period in which they were planned, each followed "
        "to the end of its window.",
    ),
    Definition(
        "campaign_lift",
        "Campaign lift · 캠페인 증분 효과",
        "What the message added: the conversion rate of the members sent it minus the "
        "conversion rate of the members held out, who are measured the same way over a window "
        "as long, from when they would have been sent. It comes with its 95% interval and a "
        "p-value; a lift is significant when p < 0.05, and its interval then leaves out zero. "
        "Per variant: each variant's members against the same holdout, the p-values "
        "Holm-corrected across the variants. Incremental revenue: the revenue of the members "
        "sent the message minus what as many held-out members brought in. Campaign against "
        "campaign, each lift is measured on its own: a purchase within the windows of two "
        "campaigns counts for both, so their revenues do not add up. A campaign that holds "
        "nobody out has no lift.",
    ),
)
"""Every figure, once (docs/metrics.md shows them)."""

METRICS = (
    "conversations",
    "completion_rate",
    "containment_rate",
    "handoff_rate",
    "fallback_rate",
    "turns_median",
    "turns_p90",
    "duration_median_s",
    "duration_p90_s",
)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide (not 0: unknown, not zero)."""
    return part / whole if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]
