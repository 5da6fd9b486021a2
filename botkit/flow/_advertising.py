"""The rules every advertising campaign message obeys, checked where it is written.

Korean law (정보통신망법 §50) wants an advertising message to say what it is and how to stop
them: it begins with "(광고)", and it prints how to opt out. botkit's opt-out is the bot's
``opt_out:`` words (they work from any state), so the message must print one of them; a bot
whose users have no opt-out words cannot send advertising at all. Kakao's Event API sends one
bubble to a user per event, so an advertising message sent through Kakao is one bubble, which
must then carry the label and the opt-out words together.

What is checked, each problem at the spot to change:

* BK431: the first bubble does not begin with the label (in Korean "(광고)"; in the other
  languages "(광고)", "(Ad)" or "[Ad]"), or begins with no text at all (an image);
* BK432: the message does not print an opt-out word (in some language);
* BK433: the bot has no opt-out words (``opt_out: []``), so nobody could stop them;
* BK434: a message for Kakao with more than one bubble;
* BK437: an informational campaign whose message is labelled advertising: it would go to
  people who never agreed to advertising, at night too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from botkit.flow._context import Context
from botkit.flow._node import Node
from botkit.flow._words import one_of
from botkit.flow.model import Message, Text
from botkit.text import bare

__all__ = ["LABEL", "Written", "check_advertising", "check_informational"]

LABEL = "(광고)"
_OTHER_LABELS = (LABEL, "(Ad)", "[Ad]")
KAKAO = "kakao"


@dataclass(frozen=True, slots=True)
class Written:
    """One message of a campaign (its ``message:``, or a variant's), where it is written."""

    variant: str
    node: Node  # the campaign, or the variant: its key "message" holds the bubbles
    messages: tuple[Message, ...]

    @property
    def subject(self) -> str:
        return "the message" if self.node.kind == "campaign" else f"variant '{self.variant}'"


def _labels(locale: str) -> tuple[str, ...]:
    return (LABEL,) if locale == "ko" else _OTHER_LABELS


def _headline(message: Message) -> tuple[Text | None, tuple[str | int, ...]]:
    """The first words a bubble shows (a text, a card's title, a list's header), and where
    they are under the bubble; None for a bubble that starts with no words (an image)."""
    if message.text is not None:
        return message.text, ("text",)
    if message.card is not None:
        return message.card.title, ("card", "title")
    if message.cards:
        return message.cards[0].title, ("cards", 0, "title")
    if message.list is not None:
        return message.list.header, ("list", "header")
    return None, ()


def _texts(message: Message) -> Iterator[Text]:
    """Every text a bubble prints (not button or quick reply labels: pressing one sends its
    payload, which is not the opt-out words)."""
    if message.text is not None:
        yield message.text
    for card in (message.card, *message.cards):
        if card is not None:
            yield card.title
            if card.description is not None:
                yield card.description
    if message.list is not None:
        yield message.list.header
        for item in message.list.items:
            yield item.title
            if item.description is not None:
                yield item.description


def _bubble(written: Written, index: int) -> tuple[str | int, ...]:
    """The steps from the message's owner to bubble ``index`` (a single bubble is not a list)."""
    raw: Any = written.node.data.get("message")
    return ("message", index) if isinstance(raw, list) else ("message",)


def _bubble_raw(written: Written) -> Any:
    raw: Any = written.node.data.get("message")
    return raw[0] if isinstance(raw, list) and raw else raw


def check_advertising(
    ctx: Context,
    campaign: str,
    node: Node,
    written: list[Written],
    channels: tuple[str, ...],
    opt_out: frozenset[str],
    opt_out_shown: tuple[str, ...],
) -> None:
    """Report every way the advertising campaign ``campaign`` breaks the rules above."""
    if not opt_out:
        ctx.reporter.add(
            "BK433",
            node.where("kind"),
            f"campaign '{campaign}' is advertising, but this bot has no opt-out words, so "
            "nobody it reaches could stop its messages",
            found=f"opt_out: [{', '.join(opt_out_shown)}] in bot.yaml",
            hint="the law wants opting out as easy as opting in: give bot.yaml opt-out words "
            "(opt_out: [수신거부, 광고 그만]), or leave opt_out out for the default ones",
        )
    for one in written:
        if not one.messages:
            continue  # it could not be compiled: reported there
        _label(ctx, campaign, one)
        if opt_out:
            _opt_out_words(ctx, campaign, one, opt_out, opt_out_shown)
        if KAKAO in channels and len(one.messages) > 1:
            ctx.reporter.add(
                "BK434",
                one.node.where_path("message", 1),
                f"{one.subject} of advertising campaign '{campaign}' has {len(one.messages)} "
                "bubbles, but Kakao sends one bubble per advertising message",
                expected="one bubble, with the (광고) label and the opt-out words in it",
                hint="put the texts into one bubble (a card or a text with buttons), or leave "
                "kakao out of channels:",
            )


def _label(ctx: Context, campaign: str, one: Written) -> None:
    text, steps = _headline(one.messages[0])
    first = _bubble(one, 0)
    if text is None:
        ctx.reporter.add(
            "BK431",
            one.node.where_path(*first),
            f"{one.subject} of advertising campaign '{campaign}' begins with an image, so it "
            f"cannot begin with '{LABEL}'",
            expected=f"a first bubble with text that begins with '{LABEL}'",
            hint=f"begin with a text, or a card whose title begins with '{LABEL}'",
        )
        return
    raw: Any = _bubble_raw(one)
    for locale, template in text.by_locale.items():
        labels = _labels(locale)
        if template.source.lstrip().startswith(labels):
            continue
        at: tuple[str | int, ...] = (*first, *steps) if isinstance(raw, dict) else first
        if _value_at(one.node, at, locale):
            at = (*at, locale)
        ctx.reporter.add(
            "BK431",
            one.node.where_path(*at),
            f"{one.subject} of advertising campaign '{campaign}' does not begin with "
            f"'{LABEL}'" + ("" if locale == ctx.default_locale else f" in '{locale}'"),
            expected=f"text that begins with {one_of(repr(label) for label in labels)}",
            found=_start(template.source),
            hint=f"the law wants every advertising message to begin with '{LABEL}': "
            f"{LABEL if locale == 'ko' else '(Ad)'} {_start(template.source, quoted=False)}",
        )


def _value_at(node: Node, steps: tuple[str | int, ...], locale: str) -> bool:
    """Whether the text at ``steps`` under ``node`` is written per language (has ``locale``)."""
    value: Any = node.data
    for step in steps:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, dict) and locale in value


def _start(text: str, *, quoted: bool = True) -> str:
    shown = text.strip().split("\n", 1)[0]
    shown = shown if len(shown) <= 30 else shown[:27] + "..."
    return f"'{shown}'" if quoted else shown


def _opt_out_words(
    ctx: Context,
    campaign: str,
    one: Written,
    opt_out: frozenset[str],
    shown: tuple[str, ...],
) -> None:
    missing = []
    for locale in ctx.locales:
        printed = bare(
            " ".join(t.template(locale).source for m in one.messages for t in _texts(m))
        )
        if not any(word in printed for word in opt_out):
            missing.append(locale)
    if not missing:
        return
    languages = "" if missing == [ctx.default_locale] else f" (in {one_of(map(repr, missing))})"
    ctx.reporter.add(
        "BK432",
        one.node.where("message", at_key=True),
        f"{one.subject} of advertising campaign '{campaign}' does not say how to opt out"
        + languages,
        expected="one of the opt-out words: " + ", ".join(f"'{w}'" for w in shown),
        hint="the law wants every advertising message to say how to stop them; end it with "
        f"e.g. '수신거부: 채팅창에 {shown[0]} 입력'",
    )


def check_informational(ctx: Context, campaign: str, node: Node, written: list[Written]) -> None:
    """BK437: an informational campaign is sent without marketing consent, so a message that
    calls itself advertising must not be one."""
    for one in written:
        text = _headline(one.messages[0])[0] if one.messages else None
        if text is None:
            continue
        labelled = [
            t.source
            for t in text.by_locale.values()
            if t.source.lstrip().startswith(_OTHER_LABELS)
        ]
        if labelled:
            ctx.reporter.add(
                "BK437",
                node.where("kind"),
                f"campaign '{campaign}' is informational, but {one.subject} is labelled "
                "advertising",
                found=_start(labelled[0]),
                hint="an informational campaign reaches people who never agreed to advertising, "
                "at night too; write kind: advertising (then consent and the quiet hours apply)",
            )
            return
