"""Settings of the Kakao skill endpoint (``kakao:`` in ``serve.yaml``, ``BOTKIT_KAKAO_*``).

They live with the adapter that reads them; :mod:`botkit.server.config` gathers them with the
server's own and loads them from the file and the environment.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KakaoSettings"]


@dataclass(frozen=True, slots=True)
class KakaoSettings:
    path: str = "/kakao/skill"
    # A shared secret: Kakao's skill settings can add it to the URL (``{path}/{secret}``) or send
    # it as a header. Unset = no check (only sensible on loopback).
    secret: str | None = None
    secret_header: str = "X-Botkit-Secret"
    bot_ids: tuple[str, ...] = ()  # allowed `bot.id`s; empty = any
    # Kakao waits 5 s for a skill; the answer leaves within this budget whatever the actions do.
    budget_s: float = 4.5
    # Kakao's AI-chatbot callback (enabled per block in Open Builder): answer at once with
    # `useCallback: true` and POST the real answer to `callbackUrl` when it is ready.
    callback: bool = False
    # Hosts a callbackUrl may point to (Kakao's own): the URL comes in the request, and botkit
    # must not be made to POST to any address a caller names. "*.example.com" matches subdomains.
    callback_hosts: tuple[str, ...] = ("*.kakao.com", "*.kakaoenterprise.com")
    callback_ttl_s: float = 55.0  # Kakao's callback URL is valid for one minute
    waiting_text: str = "답변을 준비하고 있어요. 잠시만 기다려 주세요."
    retry_text: str = "응답이 늦어지고 있어요. 잠시 후 다시 말씀해 주세요."
    # Kakao refuses an answer with nothing in it; while a person holds the conversation the bot
    # says nothing, so the user's message is acknowledged with this (it is kept for the agent).
    holding_text: str = "상담원에게 전달했어요. 곧 답변드릴게요."
    deliver_late_replies: bool = True  # a reply that missed its budget comes with the next one
    max_body_bytes: int = 64 * 1024
    max_utterance_chars: int = 1000
    # The chatbot Event API campaign messages go out through (botkit.adapters.outbound):
    # its base URL (Kakao's: https://bot-api.kakao.com; a loopback stand-in in tests) and the
    # REST API key it is called with. Unset = no campaign messages on KakaoTalk.
    event_api_url: str | None = None
    rest_api_key: str | None = None
    event_name: str = "botkit_campaign"  # the event block in Open Builder that answers it
    event_cost: float = 15.0  # KRW per message (VAT excluded), for the campaign's ROI
    # Kakao's event block needs words to show; when its call is for a campaign message said
    # already (the Event API called twice around a crash), these, not the holding text,
    # which speaks of an agent.
    said_text: str = "앞서 보내 드린 안내를 확인해 주세요."

    @property
    def route(self) -> str:
        """``path`` as the skill's route: one leading slash, no trailing one."""
        return "/" + self.path.strip("/")
