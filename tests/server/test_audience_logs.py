"""No profile value, link code or identity token reaches a log line, at any level (issue 19,
acceptance 6).

A real ``botkit serve`` app on loopback, its lines written as ``botkit serve`` writes them at
debug level (:func:`botkit.server.logs.setup_logging`: every logger through one JSON handler),
with uvicorn's access log on (``botkit serve`` keeps it off: a line per request with its path
and query string is the worst case) and httpx at debug (the server's own calls go through it).
The shop's server and its customers then do everything the audience offers: profiles put,
patched, read and refused, consent, a Kakao conversation with the account-link button, the
button opened and its code redeemed, reused, forged and late, web visitors with a good, a
forged and a replayed identity token, the channel webhook, a purchase by customer id, and the
opt-out words. Every line, message and fields as the formatter writes them, is then searched
for every value and every code and token the conversation made, however it may be spelled.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import httpx
from websockets.asyncio.client import connect

import botkit
from botkit.audience.identity import web_token
from botkit.server import ServerSettings, create_app
from tests.server.conftest import REPO, WEDNESDAY_MORNING, skill_payload
from tests.server.test_identity import LOGIN, PUBLIC, account_link_button, press
from tests.server.test_log_secrets import captured_logs, serving

BOT = botkit.load(REPO / "tests" / "bots" / "audience")
IDENTITY_SECRET = "audience-identity-secret-4471"
CUSTOMERS_TOKEN = "audience-customers-token-4472"
CHANNEL_TOKEN = "kakao-app-admin-key-4473"
EVENTS_TOKEN = "audience-events-token-4474"
SHOP = {"Authorization": f"Bearer {CUSTOMERS_TOKEN}"}
CUSTOMER = "C-5501"
# What the shop's CRM knows of 지아: each value is hers alone (the phone is declared sensitive).
PROFILE = {
    "grade": "SILVER",
    "age": 93.125,
    "region": "청담동비밀골목",
    "joined": "1987-04-19",
    "interests": ["캠핑의자수집", "빈티지만년필"],
    "phone": "010-7777-3141",
}
PATCH = {"region": "압구정로데오", "interests": ["수제맥주양조"], "phone": "010-8888-2718"}
WRONG = {"age": "여든아홉살", "phone": 1098765432, "joined": "작년봄쯤"}  # refused, still hers
UNKNOWN = {"favourite_food": "평양냉면곱빼기"}  # an attribute bot.yaml does not declare


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_MORNING

    def __call__(self) -> float:
        return self.now


def leaves(value: Any) -> list[str]:
    """Every value in ``value`` as text (a profile's attributes, a list's items)."""
    if isinstance(value, dict):
        return [text for item in value.values() for text in leaves(item)]
    if isinstance(value, list):
        return [text for item in value for text in leaves(item)]
    return [str(value)]


def spellings(secret: str) -> set[str]:
    """``secret`` as a log line could carry it: as is, percent-encoded, JSON-escaped; a phone
    number also as the masking writes it (its last digits stay: still hers)."""
    found = {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    digits = "".join(c for c in secret if c.isdigit())
    if len(digits) >= 9 and set(secret) <= set("0123456789-"):
        found.add(f"****-{digits[-4:]}")
    return found


def leaks(log: str, secrets: list[str]) -> list[str]:
    return sorted({s for s in secrets for form in spellings(s) if form in log})


async def test_no_profile_value_code_or_token_reaches_the_log_at_debug_level(
    tmp_path: Path,
) -> None:
    clock = Clock()
    settings = ServerSettings(
        store=f"sqlite:///{tmp_path / 'bot.db'}",
        log_level="debug",
        customers_token=CUSTOMERS_TOKEN,
        identity_secret=IDENTITY_SECRET,
        account_link_url=LOGIN,
        public_url=PUBLIC,
        channel_token=CHANNEL_TOKEN,
        events_token=EVENTS_TOKEN,
    )
    app = create_app(BOT, settings, clock=clock)
    secrets = [*leaves(PROFILE), *leaves(PATCH), *leaves(WRONG), *leaves(UNKNOWN)]
    secrets += [IDENTITY_SECRET, CUSTOMERS_TOKEN, CHANNEL_TOKEN, EVENTS_TOKEN]
    status: dict[str, int] = {}

    def token(nonce: str, *, secret: str = IDENTITY_SECRET) -> str:
        made = web_token(secret, CUSTOMER, int(clock.now), nonce)
        secrets.extend([made, *made.split(".")])  # the token, its payload and its HMAC
        return made

    def code_of(address: str, code: str) -> str:
        sealed = parse_qs(urlsplit(address).query)["token"][0]
        random, _, tag = code.split(".")  # the middle is its expiry: a time, no secret
        secrets.extend([sealed, code, random, tag])
        return code

    with captured_logs(settings) as logs:
        # Every logger named here at debug, httpx too (botkit keeps it quiet below warning).
        for name in ("", "botkit", "uvicorn", "uvicorn.access", "httpx"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        async with serving(app) as client:

            async def post(name: str, path: str, body: Any, **headers: str) -> httpx.Response:
                answer = await client.post(path, json=body, headers=headers)
                status[name] = answer.status_code
                return answer

            # The shop's server keeps the profile up to date, and gets some of it wrong.
            customer = f"/customers/{CUSTOMER}"
            answers = {
                "put": await client.put(customer, json=PROFILE, headers=SHOP),
                "patch": await client.patch(customer, json=PATCH, headers=SHOP),
                "get": await client.get(customer, headers=SHOP),
                "wrong types": await client.patch(customer, json=WRONG, headers=SHOP),
                "unknown attribute": await client.put(customer, json=UNKNOWN, headers=SHOP),
                "consent": await client.put(
                    f"{customer}/consent", json={"marketing": True, "night": False}, headers=SHOP
                ),
            }
            status.update({name: answer.status_code for name, answer in answers.items()})

            # On KakaoTalk 지아 asks to link her account and opens the button, twice (a button
            # works once: the second press is refused, and she asks again).
            address = await account_link_button(client, user="지아")
            first = code_of(address, await press(client, address))
            status["button again"] = (await client.get(address)).status_code
            another = await account_link_button(client, user="지아")
            late = code_of(another, await press(client, another))
            path, _, query = address.partition("?")
            sealed = parse_qs(query)["token"][0]
            altered = sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:]
            status["forged button"] = (await client.get(f"{path}?token={altered}")).status_code
            # The shop's login page posts the codes back: once, twice, forged, too late.
            links = f"{customer}/links"
            forged = first[:-1] + ("0" if first[-1] != "0" else "1")
            secrets.append(forged)
            await post("code", links, {"code": first}, **SHOP)
            await post("code again", links, {"code": first}, **SHOP)
            await post("forged code", links, {"code": forged}, **SHOP)
            clock.now += 601  # the second code waited past its ten minutes
            await post("late code", links, {"code": late}, **SHOP)

            # On the shop's site: a page with a good token, a forged one, a copied one.
            good = token("identity-nonce-0000000001")
            forged = token("identity-nonce-0000000002", secret="another-secret-98765")
            for name, sid, proof in (
                ("good token", "audience-logs-sid-01", good),
                ("forged token", "audience-logs-sid-02", forged),
                ("replayed token", "audience-logs-sid-03", good),
            ):
                hello = {"sid": sid, "id": "m1", "text": "안녕하세요"}
                await post(name, "/web/messages", {**hello, "customer": CUSTOMER, "token": proof})
            host = client.base_url.netloc.decode()
            async with connect(f"ws://{host}/web/ws") as socket:
                hello = {"type": "hello", "sid": "audience-logs-sid-04", "customer": CUSTOMER}
                proof = token("identity-nonce-0000000004")
                await socket.send(json.dumps({**hello, "token": proof}))
                assert json.loads(await socket.recv())["type"] == "welcome"

            # Kakao says a friend added the channel; the shop posts 지아's purchase.
            added = {
                "event": "added",
                "id": "4012345678",
                "id_type": "app_user_id",
                "updated_at": "2026-11-25T01:00:00Z",
            }
            kakao_key = {"Authorization": f"KakaoAK {CHANNEL_TOKEN}"}
            await post("channel added", "/kakao/channel", added, **kakao_key)
            purchase = {"id": "o-5501", "kind": "purchase", "customer": CUSTOMER, "amount": 39_000}
            events = {"Authorization": f"Bearer {EVENTS_TOKEN}"}
            await post("purchase", "/events", {"events": [purchase]}, **events)

            # 지아 opts out on KakaoTalk, and on the site.
            kakao = await post(
                "opt out on kakao", "/kakao/skill", skill_payload("수신거부", user="지아")
            )
            web = {"sid": "audience-logs-sid-01", "id": "m2", "text": "광고 그만"}
            widget = await post("opt out on the web", "/web/messages", web)

    assert "수신을 거부하셨어요" in kakao.text
    assert "수신을 거부하셨어요" in widget.text
    assert status == {
        "put": 200,
        "patch": 200,
        "get": 200,
        "wrong types": 400,
        "unknown attribute": 400,
        "consent": 200,
        "button again": 409,
        "forged button": 400,
        "code": 200,
        "code again": 409,
        "forged code": 400,
        "late code": 410,
        "good token": 200,
        "forged token": 200,
        "replayed token": 200,
        "channel added": 200,
        "purchase": 200,
        "opt out on kakao": 200,
        "opt out on the web": 200,
    }
    log = logs.getvalue()
    entries = [json.loads(line) for line in log.splitlines()]
    said = [entry["message"] for entry in entries]
    # The requests are in the log, only without what is theirs: the test reads real lines.
    assert any(m.endswith('"GET /account-link?token=*** HTTP/1.1" 302') for m in said)
    assert any(m.endswith(f'"PATCH /customers/{CUSTOMER} HTTP/1.1" 400') for m in said)
    assert any(m.endswith(f'"POST /customers/{CUSTOMER}/links HTTP/1.1" 409') for m in said)
    refusals = [
        e.get("reason") for e in entries if e["message"].startswith("web identity refused")
    ]
    assert sorted(refusals) == ["forged", "replayed"]
    assert "kakao turn" in said  # debug lines were written
    assert leaks(log, secrets) == []
