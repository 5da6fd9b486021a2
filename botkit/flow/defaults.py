"""The words botkit itself puts in a bot's mouth when the flows do not say otherwise.

The engine is sans-IO and language-blind: it matches, moves and records. What a user reads or
types that no flow designer wrote (the yes/no of a confirmation, the apology of a fallback
without messages, the error bubble of a failed turn) is UI copy, and UI copy belongs to the flow
language, next to the messages it stands in for. The compiled :class:`~botkit.flow.model.Bot`
carries one :class:`Wording` (``bot.wording``); the engine reads it from there and names no word of
its own.

Each locale a bot declares gets the wording of its language when botkit has one
(:data:`WORDINGS`: Korean and English), else the bot's own (``bot.wording``, Korean): an English
conversation confirms with Yes / No and understands "yes" and "yeah". The default locale's
yes/no words are understood in every locale, as its keywords are.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ENGLISH", "KOREAN", "WORDINGS", "Wording"]


@dataclass(frozen=True, slots=True)
class Wording:
    """The words of one language that botkit supplies itself.

    ``yes`` and ``no`` are matched against what the user typed, normalized and without spaces
    (so "네 맞아요" is ``"네맞아요"``); the labels are what the confirmation's two choices show.
    """

    yes: frozenset[str]
    no: frozenset[str]
    yes_label: str  # the confirmation's choices (their payloads are always "yes" and "no")
    no_label: str
    fallback: str  # said when nothing matched and no fallback message is designed
    error: str  # said for a failed turn when the bot has no ``messages.error``
    # said when a new version no longer has the user's place (no ``messages.migrated``)
    migrated: str
    # said when nobody took a handoff within its wait_timeout (no ``messages.no_agent``)
    no_agent: str
    # said when the user's opt-out words withdrew their consent to advertising
    opt_out: str


KOREAN = Wording(
    yes=frozenset(
        {"예", "네", "응", "yes", "y", "맞아요", "맞아", "네맞아요", "ㅇㅇ", "좋아요", "확인"}
    ),
    no=frozenset({"아니요", "아니오", "아니", "no", "n", "ㄴㄴ", "틀려요", "아니에요"}),
    yes_label="예",
    no_label="아니요",
    fallback="죄송해요, 잘 이해하지 못했어요. 다시 말씀해 주시겠어요?",
    error="일시적인 오류가 발생했어요. 잠시 후 다시 시도해 주세요.",
    migrated="안내 내용이 새로 바뀌어서 처음부터 다시 도와드릴게요.",
    no_agent="기다려 주셔서 감사해요. 지금은 연결할 수 있는 상담원이 없어서 제가 도와드릴게요.",
    opt_out="광고 메시지 수신을 거부하셨어요. 앞으로 광고는 보내지 않을게요.",
)


ENGLISH = Wording(
    yes=frozenset(
        {"yes", "y", "yeah", "yep", "sure", "ok", "okay", "correct", "right", "yesplease"}
    ),
    no=frozenset({"no", "n", "nope", "wrong", "notright", "nothanks"}),
    yes_label="Yes",
    no_label="No",
    fallback="Sorry, I didn't get that. Could you say it another way?",
    error="Something went wrong on our side. Please try again in a moment.",
    migrated="We have updated this service, so let's start again from the top.",
    no_agent="Thank you for waiting. No agent is free right now, so I'll carry on helping you.",
    opt_out="You have opted out of advertising messages. We won't send you any more.",
)

WORDINGS = {"ko": KOREAN, "en": ENGLISH}
"""The wording botkit has per language (a locale's language is what comes before ``-``)."""
