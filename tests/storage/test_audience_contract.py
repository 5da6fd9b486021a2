"""The audience contract (:class:`botkit.audience.Audience`): every backend in
``conftest.BACKENDS`` must pass every test here. A shop names its customers, sends their
profiles, links channel users to them and records consent; the store keeps all of it, and the
log of who was linked to whom and who agreed to what. Times are fixed numbers, never the clock.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest

from botkit.audience import Audience, AudienceEntry, Consent, ConsentChange, Customer
from botkit.errors import StorageError
from botkit.records import BusinessEvent
from botkit.storage import Store
from tests.storage.conftest import Backend

NOW = 1_767_225_600.0  # 2026-01-01 00:00 in Asia/Seoul is 2025-12-31 15:00 UTC; any instant
HOUR = 3600.0

MINJI = {"이름": "김민지", "등급": "VIP", "지역": "서울", "나이": 29, "관심사": ["패딩", "니트"]}
KAKAO_MINJI = "카페봇:botUserKey-민지"
WEB_MINJI = "web:방문자-7"


class AudienceStore(Store, Audience, Protocol):
    """A store with its audience: what every backend is."""


@pytest.fixture
async def shop(backend: Backend) -> AsyncIterator[AudienceStore]:
    opened = backend.make()
    await opened.open()
    assert isinstance(opened, Audience)
    yield opened
    await opened.close()


async def test_every_store_with_an_audience_is_a_whole_store(shop: AudienceStore) -> None:
    """The fixture checks that each is an Audience; the Store's methods are all there too."""
    assert isinstance(shop, Store)


# --- profiles --------------------------------------------------------------------------------


async def test_a_put_profile_replaces_and_a_patch_merges(shop: AudienceStore) -> None:
    assert await shop.customer("C-1042") is None
    assert await shop.put_profile("C-1042", MINJI, NOW, merge=False) == MINJI
    stored = await shop.customer("C-1042")
    assert stored == Customer("C-1042", MINJI, Consent(), (), NOW)

    patched = await shop.put_profile(
        "C-1042", {"등급": "GOLD", "지역": None, "가입일": "2026-11-03"}, NOW + 1, merge=True
    )
    expected = {"이름": "김민지", "등급": "GOLD", "나이": 29, "관심사": ["패딩", "니트"]}
    assert patched == expected | {"가입일": "2026-11-03"}  # 지역 removed by its None
    stored = await shop.customer("C-1042")
    assert stored is not None
    assert (stored.profile, stored.updated_at) == (patched, NOW + 1)

    # PUT replaces the whole profile: what it does not name is gone
    assert await shop.put_profile("C-1042", {"이름": "김민지"}, NOW + 2, merge=False) == {
        "이름": "김민지"
    }
    stored = await shop.customer("C-1042")
    assert stored is not None
    assert stored.profile == {"이름": "김민지"}


async def test_a_patch_of_a_new_customer_creates_them(shop: AudienceStore) -> None:
    assert await shop.put_profile("C-7", {"등급": "SILVER", "메모": None}, NOW, merge=True) == {
        "등급": "SILVER"
    }
    assert await shop.customer("C-7") == Customer("C-7", {"등급": "SILVER"}, updated_at=NOW)


async def test_what_a_caller_gets_back_is_a_copy(shop: AudienceStore) -> None:
    given = {"관심사": ["패딩"]}
    returned = await shop.put_profile("C-1", given, NOW, merge=False)
    returned["관심사"].append("니트")
    given["관심사"].append("코트")
    stored = await shop.customer("C-1")
    assert stored is not None
    assert stored.profile == {"관심사": ["패딩"]}


async def test_an_import_counts_the_customers_it_changed(shop: AudienceStore) -> None:
    rows = [
        ("C-1", {"이름": "김민지", "등급": "VIP"}),
        ("C-2", {"이름": "이지훈", "등급": "GOLD"}),
        ("C-3", {"이름": "박하늘"}),
    ]
    assert await shop.put_profiles(rows, NOW) == 3
    assert await shop.put_profiles(rows, NOW + HOUR) == 0  # the same file again: nothing
    reordered = [("C-1", {"등급": "VIP", "이름": "김민지"})]  # the same profile, other order
    assert await shop.put_profiles(reordered, NOW + HOUR) == 0
    changed = [*rows[:2], ("C-3", {"이름": "박하늘", "지역": "부산"})]
    assert await shop.put_profiles(changed, NOW + 2 * HOUR) == 1
    third = await shop.customer("C-3")
    first = await shop.customer("C-1")
    assert third is not None
    assert first is not None
    assert (third.profile, third.updated_at) == (
        {"이름": "박하늘", "지역": "부산"},
        NOW + 2 * HOUR,
    )
    assert first.updated_at == NOW  # unchanged customers keep their time
    assert await shop.put_profiles([], NOW) == 0


async def test_an_import_replaces_profiles_and_stores_none_when_one_is_bad(
    shop: AudienceStore,
) -> None:
    """Every row is checked before any is stored (the bad one is refused before the
    transaction begins, so this says nothing of the database's atomicity)."""
    await shop.put_profile("C-1", {"이름": "김민지", "메모": "단골"}, NOW, merge=False)
    assert await shop.put_profiles([("C-1", {"이름": "김민지"})], NOW + 1) == 1
    stored = await shop.customer("C-1")
    assert stored is not None
    assert stored.profile == {"이름": "김민지"}
    bad: list[tuple[str, dict[str, Any]]] = [
        ("C-2", {"이름": "이지훈"}),
        ("C-3", {"점수": math.nan}),
    ]
    with pytest.raises(StorageError):
        await shop.put_profiles(bad, NOW + 2)
    assert await shop.customer("C-2") is None


@pytest.mark.parametrize(
    "profile",
    [
        pytest.param({"점수": math.inf}, id="inf"),
        pytest.param({"객체": object()}, id="not-json"),
        pytest.param({1: "번호"}, id="number-name"),
        pytest.param(["등급", "VIP"], id="not-a-mapping"),
    ],
)
async def test_a_profile_json_cannot_hold_is_refused(shop: AudienceStore, profile: Any) -> None:
    with pytest.raises(StorageError):
        await shop.put_profile("C-1", profile, NOW, merge=False)
    with pytest.raises(StorageError):
        await shop.put_profile("C-1", profile, NOW, merge=True)
    assert await shop.customer("C-1") is None


async def test_a_customer_needs_an_id(shop: AudienceStore) -> None:
    with pytest.raises(StorageError, match="customer id"):
        await shop.put_profile("", {"이름": "김민지"}, NOW, merge=False)
    with pytest.raises(StorageError, match="customer id"):
        await shop.put_profiles([("", {"이름": "김민지"})], NOW)
    with pytest.raises(StorageError, match="customer id"):
        await shop.link(KAKAO_MINJI, "", NOW, "api")


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(1_012_345_678, id="a-phone-number-as-a-number"),
        pytest.param(b"010-1234-5678", id="bytes"),
        pytest.param(["C-1042"], id="a-list"),
        pytest.param("", id="empty"),
    ],
)
async def test_an_id_that_is_no_text_is_refused_and_never_shown(
    shop: AudienceStore, wrong: Any
) -> None:
    """Every read and write that takes a customer, user, member or code refuses one that is
    not text with a StorageError that does not show it (a database's own message would, and
    messages get logged)."""
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "customer": lambda: shop.customer(wrong),
        "customer_of": lambda: shop.customer_of(wrong),
        "unlink": lambda: shop.unlink(wrong, NOW, "api"),
        "consent": lambda: shop.consent(wrong),
        "audience_log": lambda: shop.audience_log(member=wrong),
        "take_code": lambda: shop.take_code(wrong, NOW),
    }
    for name, call in calls.items():
        with pytest.raises(StorageError) as caught:
            await call()
        shown = str(caught.value)
        assert "must be non-empty text" in shown, name
        assert "1012345678" not in shown, name
        assert "1234" not in shown, name
        assert "C-1042" not in shown, name


# --- links -----------------------------------------------------------------------------------


async def test_linking_names_the_customer_of_each_channel_user(shop: AudienceStore) -> None:
    assert await shop.customer_of(KAKAO_MINJI) is None
    assert await shop.link(KAKAO_MINJI, "C-1042", NOW, "kakao_link") is True
    assert await shop.link(WEB_MINJI, "C-1042", NOW + 1, "web_identity") is True
    assert await shop.customer_of(KAKAO_MINJI) == "C-1042"
    assert await shop.customer_of(WEB_MINJI) == "C-1042"
    stored = await shop.customer("C-1042")  # a link makes the customer, with no profile yet
    users = (WEB_MINJI, KAKAO_MINJI)  # sorted: "w" before the Hangul of "카"
    assert stored == Customer("C-1042", {}, Consent(), users, NOW)
    assert await shop.audience_log() == [
        AudienceEntry(NOW, "linked", "C-1042", KAKAO_MINJI, "kakao_link"),
        AudienceEntry(NOW + 1, "linked", "C-1042", WEB_MINJI, "web_identity"),
    ]


async def test_linking_again_to_the_same_customer_changes_nothing(shop: AudienceStore) -> None:
    await shop.put_profile("C-1042", MINJI, NOW - HOUR, merge=False)
    assert await shop.link(KAKAO_MINJI, "C-1042", NOW, "kakao_link") is True
    assert await shop.link(KAKAO_MINJI, "C-1042", NOW + 1, "kakao_sync") is False
    assert len(await shop.audience_log()) == 1
    stored = await shop.customer("C-1042")
    assert stored is not None
    assert (stored.profile, stored.users) == (MINJI, (KAKAO_MINJI,))  # the profile stays


async def test_a_relink_unlinks_the_previous_customer_first(shop: AudienceStore) -> None:
    await shop.link(KAKAO_MINJI, "C-1", NOW, "kakao_link")
    assert await shop.link(KAKAO_MINJI, "C-2", NOW + HOUR, "kakao_sync") is True
    assert await shop.customer_of(KAKAO_MINJI) == "C-2"
    first, second = await shop.customer("C-1"), await shop.customer("C-2")
    assert first is not None
    assert second is not None
    assert (first.users, second.users) == ((), (KAKAO_MINJI,))
    assert await shop.audience_log(since=NOW + HOUR) == [
        AudienceEntry(NOW + HOUR, "unlinked", "C-1", KAKAO_MINJI, "kakao_sync"),
        AudienceEntry(NOW + HOUR, "linked", "C-2", KAKAO_MINJI, "kakao_sync"),
    ]


async def test_unlinking_forgets_the_link_and_logs_it(shop: AudienceStore) -> None:
    await shop.link(KAKAO_MINJI, "C-1", NOW, "kakao_link")
    assert await shop.unlink(KAKAO_MINJI, NOW + 1, "api") is True
    assert await shop.unlink(KAKAO_MINJI, NOW + 2, "api") is False  # nothing left to unlink
    assert await shop.unlink("모르는사용자", NOW + 2, "api") is False
    assert await shop.customer_of(KAKAO_MINJI) is None
    stored = await shop.customer("C-1")
    assert stored is not None
    assert stored.users == ()  # the customer stays, with no user
    assert await shop.audience_log(member="C-1") == [
        AudienceEntry(NOW, "linked", "C-1", KAKAO_MINJI, "kakao_link"),
        AudienceEntry(NOW + 1, "unlinked", "C-1", KAKAO_MINJI, "api"),
    ]


async def test_an_unlink_may_undo_only_a_link_of_one_source(shop: AudienceStore) -> None:
    """A page that no longer names its customer undoes the page's link, not the shop's."""
    await shop.link(WEB_MINJI, "C-1", NOW, "api")
    assert await shop.unlink(WEB_MINJI, NOW + 1, "web_logout", linked_by="web_identity") is False
    assert await shop.customer_of(WEB_MINJI) == "C-1"
    await shop.link(WEB_MINJI, "C-2", NOW + 2, "web_identity")
    assert await shop.unlink(WEB_MINJI, NOW + 3, "web_logout", linked_by="web_identity") is True
    assert await shop.customer_of(WEB_MINJI) is None
    assert (await shop.audience_log(since=NOW + 3))[-1] == AudienceEntry(
        NOW + 3, "unlinked", "C-2", WEB_MINJI, "web_logout"
    )


async def test_every_link_at_once(shop: AudienceStore) -> None:
    assert await shop.links() == {}
    await shop.link(KAKAO_MINJI, "C-1042", NOW, "kakao_link")
    await shop.link(WEB_MINJI, "C-1042", NOW, "web_identity")
    await shop.link("web:방문자-8", "C-7", NOW, "web_identity")
    await shop.unlink("web:방문자-8", NOW + 1, "api")
    assert await shop.links() == {KAKAO_MINJI: "C-1042", WEB_MINJI: "C-1042"}


async def test_linked_users_come_back_sorted(shop: AudienceStore) -> None:
    users = ["web:하늘", "kakao:가람", "web:Zoe", "kakao:나래", "app:123"]
    for i, user in enumerate(users):
        await shop.link(user, "C-9", NOW + i, "api")
    stored = await shop.customer("C-9")
    assert stored is not None
    assert stored.users == tuple(sorted(users))


async def test_two_links_of_one_user_at_once_log_a_consistent_story(
    shop: AudienceStore,
) -> None:
    results = await asyncio.gather(
        *(shop.link(KAKAO_MINJI, f"C-{n}", NOW, "api") for n in range(4))
    )
    assert results == [True] * 4
    final = await shop.customer_of(KAKAO_MINJI)
    log = await shop.audience_log()
    # each link after the first unlinked the one before it: the log tells one chain
    assert [e.kind for e in log] == ["linked"] + ["unlinked", "linked"] * 3
    assert log[-1].member == final
    for unlinked, linked_before in zip(log[1::2], log[0::2], strict=False):
        assert unlinked.member == linked_before.member


# --- consent ---------------------------------------------------------------------------------


async def test_consent_is_never_asked_until_it_is(shop: AudienceStore) -> None:
    assert await shop.consent("C-1") == {
        "marketing": None,
        "marketing_at": None,
        "marketing_source": None,
        "night": None,
        "night_at": None,
        "night_source": None,
    }


async def test_a_consent_change_sets_only_the_fields_it_gives(shop: AudienceStore) -> None:
    await shop.put_profile("C-1", MINJI, NOW, merge=False)
    await shop.change_consent("C-1", ConsentChange(NOW + 1, "import", marketing=True))
    await shop.change_consent("C-1", ConsentChange(NOW + 2, "api", night=True))
    await shop.change_consent(
        "C-1", ConsentChange(NOW + 3, "opt_out_words", marketing=False, night=False)
    )
    await shop.change_consent("C-1", ConsentChange(NOW + 4, "api", night=True))
    expected = Consent(False, NOW + 3, "opt_out_words", True, NOW + 4, "api")
    assert await shop.consent("C-1") == {
        "marketing": False,
        "marketing_at": NOW + 3,
        "marketing_source": "opt_out_words",
        "night": True,
        "night_at": NOW + 4,
        "night_source": "api",
    }
    stored = await shop.customer("C-1")
    assert stored is not None
    assert stored.consent == expected
    assert await shop.audience_log(member="C-1") == [
        AudienceEntry(NOW + 1, "consent", "C-1", None, "import", {"marketing": True}),
        AudienceEntry(NOW + 2, "consent", "C-1", None, "api", {"night": True}),
        AudienceEntry(
            NOW + 3, "consent", "C-1", None, "opt_out_words", {"marketing": False, "night": False}
        ),
        AudienceEntry(NOW + 4, "consent", "C-1", None, "api", {"night": True}),
    ]


async def test_consenting_lists_who_says_yes_now_and_never_who_was_not_asked(
    shop: AudienceStore,
) -> None:
    await shop.change_consent("C-1", ConsentChange(NOW, "api", marketing=True, night=True))
    await shop.change_consent("C-2", ConsentChange(NOW, "api", marketing=True))
    await shop.change_consent("C-3", ConsentChange(NOW, "api", marketing=True))
    await shop.change_consent("C-3", ConsentChange(NOW + 1, "opt_out_words", marketing=False))
    await shop.change_consent("user:" + KAKAO_MINJI, ConsentChange(NOW, "api", night=False))
    assert await shop.consenting("marketing") == {"C-1", "C-2"}
    assert await shop.consenting("night") == {"C-1"}


async def test_a_channel_user_no_customer_claims_has_consent_too(shop: AudienceStore) -> None:
    member = "user:" + KAKAO_MINJI
    await shop.change_consent(member, ConsentChange(NOW, "kakao_channel", marketing=True))
    assert (await shop.consent(member))["marketing"] is True
    assert (await shop.consent("user:다른사람"))["marketing"] is None
    assert await shop.audience_log(member=member) == [
        AudienceEntry(NOW, "consent", member, None, "kakao_channel", {"marketing": True})
    ]


async def test_a_change_that_gives_no_field_changes_and_logs_nothing(shop: AudienceStore) -> None:
    await shop.change_consent("C-1", ConsentChange(NOW, "api"))
    assert await shop.audience_log() == []
    assert (await shop.consent("C-1"))["marketing_at"] is None


async def test_a_consent_is_true_or_false(shop: AudienceStore) -> None:
    with pytest.raises(StorageError, match="marketing"):
        await shop.change_consent("C-1", ConsentChange(NOW, "api", marketing="네"))  # type: ignore[arg-type]
    assert await shop.audience_log() == []


async def test_the_newer_word_wins(shop: AudienceStore) -> None:
    said = ConsentChange(NOW + 3, "opt_out_words", marketing=False, night=False)
    assert await shop.change_consent("C-1", said) is True
    # the shop's server tells, late, of a "yes" the member gave before typing "수신거부"
    late = ConsentChange(NOW + 1, "api", marketing=True, night=True)
    assert await shop.change_consent("C-1", late) is False
    # the same instant as the withdrawal: the later call wins the tie
    assert await shop.change_consent("C-1", ConsentChange(NOW + 3, "api", night=True)) is True

    assert await shop.consent("C-1") == {
        "marketing": False,
        "marketing_at": NOW + 3,
        "marketing_source": "opt_out_words",
        "night": True,
        "night_at": NOW + 3,
        "night_source": "api",
    }
    assert await shop.audience_log(member="C-1") == [  # only what was set
        AudienceEntry(
            NOW + 3, "consent", "C-1", None, "opt_out_words", {"marketing": False, "night": False}
        ),
        AudienceEntry(NOW + 3, "consent", "C-1", None, "api", {"night": True}),
    ]


async def test_an_older_field_is_left_and_the_newer_one_set(shop: AudienceStore) -> None:
    await shop.change_consent("C-1", ConsentChange(NOW + 2, "api", marketing=True))
    both = ConsentChange(NOW + 1, "kakao_channel", marketing=False, night=True)
    assert await shop.change_consent("C-1", both) is True
    consent = await shop.consent("C-1")
    assert (consent["marketing"], consent["marketing_at"]) == (True, NOW + 2)
    assert (consent["night"], consent["night_at"], consent["night_source"]) == (
        True,
        NOW + 1,
        "kakao_channel",
    )
    assert [e.data for e in await shop.audience_log(member="C-1")] == [
        {"night": True},  # by time: said at NOW + 1, though told second
        {"marketing": True},
    ]


async def test_an_import_never_turns_back_on_what_the_opt_out_words_withdrew(
    shop: AudienceStore,
) -> None:
    withdrawal = ConsentChange(NOW, "opt_out_words", marketing=False, night=False)
    await shop.change_consent("C-1", withdrawal)
    # a CRM file without times, imported an hour later: its "marketing: true" is stale
    undated = ConsentChange(NOW + HOUR, "import", marketing=True, night=True, dated=False)
    assert await shop.change_consent("C-1", undated) is False
    # a file that says the member agreed at the very moment they withdrew, or before
    for at in (NOW - HOUR, NOW):
        assert (
            await shop.change_consent("C-1", ConsentChange(at, "import", marketing=True)) is False
        )
    consent = await shop.consent("C-1")
    assert (consent["marketing"], consent["night"]) == (False, False)
    assert consent["marketing_source"] == consent["night_source"] == "opt_out_words"
    assert [e.source for e in await shop.audience_log(member="C-1")] == ["opt_out_words"]

    # an undated import may still say no, and a dated one may say yes again, said later
    assert await shop.change_consent(
        "C-1", ConsentChange(NOW + HOUR, "import", night=False, dated=False)
    )
    again = ConsentChange(NOW + 2 * HOUR, "import", marketing=True)
    assert await shop.change_consent("C-1", again) is True
    consent = await shop.consent("C-1")
    assert (consent["marketing"], consent["marketing_at"], consent["marketing_source"]) == (
        True,
        NOW + 2 * HOUR,
        "import",
    )
    assert consent["night"] is False


async def test_an_undated_import_may_turn_on_what_no_opt_out_word_withdrew(
    shop: AudienceStore,
) -> None:
    await shop.change_consent("C-1", ConsentChange(NOW, "api", marketing=False))
    await shop.change_consent("C-2", ConsentChange(NOW, "opt_out_words", marketing=False))
    await shop.change_consent("C-2", ConsentChange(NOW + 1, "api", marketing=True))  # agreed again
    for customer in ("C-1", "C-2", "C-3"):
        change = ConsentChange(NOW + HOUR, "import", marketing=True, dated=False)
        assert await shop.change_consent(customer, change) is True
        assert (await shop.consent(customer))["marketing"] is True


async def test_the_log_reads_by_member_and_time(shop: AudienceStore) -> None:
    await shop.link("kakao:가", "C-1", NOW + 2, "api")
    await shop.link("kakao:나", "C-2", NOW + 1, "api")  # told late, kept by its own time
    await shop.change_consent("C-1", ConsentChange(NOW + 2, "api", marketing=True))
    await shop.link("kakao:다", "C-1", NOW + 3, "api")
    log = await shop.audience_log()
    assert [(e.at, e.kind, e.member) for e in log] == [
        (NOW + 1, "linked", "C-2"),
        (NOW + 2, "linked", "C-1"),  # same instant: in the order written
        (NOW + 2, "consent", "C-1"),
        (NOW + 3, "linked", "C-1"),
    ]
    assert [e.kind for e in await shop.audience_log(member="C-1", since=NOW + 2)] == [
        "linked",
        "consent",
        "linked",
    ]
    assert [e.at for e in await shop.audience_log(since=NOW + 1, until=NOW + 3)] == [
        NOW + 1,
        NOW + 2,
        NOW + 2,
    ]
    assert await shop.audience_log(member="C-없음") == []


# --- one-time link codes and identity nonces ---------------------------------------------------


async def test_a_link_code_works_once(shop: AudienceStore) -> None:
    await shop.put_code("해시-1", KAKAO_MINJI, NOW + 600)
    assert await shop.take_code("해시-1", NOW) == KAKAO_MINJI
    assert await shop.take_code("해시-1", NOW + 1) is None  # used


async def test_an_expired_or_unknown_code_gives_no_user(shop: AudienceStore) -> None:
    await shop.put_code("해시-1", KAKAO_MINJI, NOW + 600)
    assert await shop.take_code("해시-1", NOW + 600) is None  # expired at its expiry
    assert await shop.take_code("해시-없음", NOW) is None
    await shop.put_code("해시-2", WEB_MINJI, NOW + 600)
    assert await shop.take_code("해시-2", NOW + 599.5) == WEB_MINJI


async def test_two_takes_of_one_code_at_once_give_one_user(shop: AudienceStore) -> None:
    """Meaningful on PostgreSQL, where the takes run at once on connections of their own; the
    memory store's event loop and SQLite's one write connection take them in turns anyway."""
    await shop.put_code("해시-1", KAKAO_MINJI, NOW + 600)
    taken = await asyncio.gather(*(shop.take_code("해시-1", NOW) for _ in range(6)))
    assert [user for user in taken if user is not None] == [KAKAO_MINJI]
    assert taken.count(None) == 5


async def test_a_code_is_kept_once(shop: AudienceStore) -> None:
    await shop.put_code("해시-1", KAKAO_MINJI, NOW + 600)
    with pytest.raises(StorageError) as caught:
        await shop.put_code("해시-1", WEB_MINJI, NOW + 600)
    assert "해시-1" not in str(caught.value)  # a code is never in a message that may be logged
    assert await shop.take_code("해시-1", NOW) == KAKAO_MINJI


async def test_a_nonce_is_new_once_until_it_expires(shop: AudienceStore) -> None:
    assert await shop.first_use("논스-1", NOW + 300, NOW) is True
    assert await shop.first_use("논스-1", NOW + 300, NOW + 10) is False  # a replay
    assert await shop.first_use("논스-2", NOW + 300, NOW + 10) is True
    # once expired it is forgotten (the caller refuses an expired token by its own time)
    assert await shop.first_use("논스-1", NOW + 900, NOW + 301) is True
    assert await shop.first_use("논스-1", NOW + 900, NOW + 302) is False


async def test_a_nonce_used_twice_at_once_is_new_once(shop: AudienceStore) -> None:
    firsts = await asyncio.gather(*(shop.first_use("논스-1", NOW + 300, NOW) for _ in range(6)))
    assert sorted(firsts) == [False] * 5 + [True]


async def test_forgetting_nonces_keeps_codes_that_still_run(shop: AudienceStore) -> None:
    await shop.put_code("해시-1", KAKAO_MINJI, NOW + 600)
    assert await shop.first_use("논스-1", NOW + 60, NOW + 100) is True
    assert await shop.take_code("해시-1", NOW + 100) == KAKAO_MINJI


# --- business events that name a customer ----------------------------------------------------


async def test_an_event_may_name_the_customer_instead_of_a_user(shop: AudienceStore) -> None:
    by_customer = BusinessEvent(
        "order-1", "purchase", "", NOW, 39_000.0, {"상품": "패딩"}, customer="C-1042"
    )
    by_user = BusinessEvent("order-2", "purchase", KAKAO_MINJI, NOW + 1, 12_000.0)
    both = BusinessEvent("signup-1", "signup", WEB_MINJI, NOW + 2, customer="C-1042")
    assert await shop.add_events([by_customer, by_user, both]) == 3
    assert await shop.add_events([by_customer]) == 0
    assert await shop.events() == [by_customer, by_user, both]
    assert await shop.events(user=KAKAO_MINJI) == [by_user]
    assert await shop.events(user=WEB_MINJI) == [both]
    assert (await shop.events(since=NOW, until=NOW + 1))[0].customer == "C-1042"
    assert await shop.events(customer="C-1042") == [by_customer, both]
    assert await shop.events(customer="C-1042", user=WEB_MINJI) == [both]
    assert await shop.events(customer="C-9999") == []


async def test_an_event_naming_nobody_is_refused(shop: AudienceStore) -> None:
    with pytest.raises(StorageError, match="user or a customer"):
        await shop.add_events([BusinessEvent("order-1", "purchase", "", NOW, 1_000.0)])
    with pytest.raises(StorageError):
        await shop.add_events(
            [BusinessEvent("order-1", "purchase", "", NOW, 1_000.0, customer="")]
        )
    assert await shop.events() == []


# --- failures and reopening ------------------------------------------------------------------


async def test_a_closed_store_refuses_with_a_storage_error(backend: Backend) -> None:
    store = backend.make()
    await store.open()
    await store.close()
    assert isinstance(store, Audience)
    with pytest.raises(StorageError):
        await store.put_profile("C-1", MINJI, NOW, merge=False)
    with pytest.raises(StorageError):
        await store.customer("C-1")
    with pytest.raises(StorageError):
        await store.link(KAKAO_MINJI, "C-1", NOW, "api")
    with pytest.raises(StorageError):
        await store.take_code("해시-1", NOW)
    with pytest.raises(StorageError):
        await store.audience_log()


async def test_the_audience_survives_close_and_reopen(backend: Backend) -> None:
    if not backend.persistent:
        pytest.skip(f"{backend.name} keeps nothing after close")
    store = backend.make()
    await store.open()
    assert isinstance(store, Audience)
    await store.put_profile("C-1042", MINJI, NOW, merge=False)
    await store.link(KAKAO_MINJI, "C-1042", NOW + 1, "kakao_link")
    await store.change_consent("C-1042", ConsentChange(NOW + 2, "api", marketing=True))
    await store.put_code("해시-1", WEB_MINJI, NOW + 600)
    await store.put_code("해시-2", WEB_MINJI, NOW + 600)
    assert await store.take_code("해시-1", NOW + 3) == WEB_MINJI
    assert await store.first_use("논스-1", NOW + 600, NOW + 3) is True
    log = await store.audience_log()
    await store.close()

    again = backend.make()
    await again.open()
    try:
        assert isinstance(again, Audience)
        assert await again.customer("C-1042") == Customer(
            "C-1042", MINJI, Consent(True, NOW + 2, "api"), (KAKAO_MINJI,), NOW
        )
        assert await again.audience_log() == log
        assert await again.take_code("해시-1", NOW + 4) is None  # used stays used
        assert await again.take_code("해시-2", NOW + 4) == WEB_MINJI
        assert await again.first_use("논스-1", NOW + 600, NOW + 4) is False
    finally:
        await again.close()
