"""What the runtime does with a turn's ``consent_withdrawn`` record: the audience forgets the
user's consent to advertising (the engine only records what was said; the store is I/O)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from botkit.audience import Audience, ConsentChange, member_of
from botkit.errors import StorageError
from botkit.keys import SessionKey
from botkit.records import Record, RecordKind
from botkit.storage import Store

__all__ = ["WITHDRAWN", "withdraw"]

log = logging.getLogger("botkit.runtime")

WITHDRAWN = RecordKind.CONSENT_WITHDRAWN


async def withdraw(store: Store, key: SessionKey, records: Sequence[Record]) -> None:
    """Withdraw the consent of the member ``key``'s user is: the customer they are linked to,
    else the user. After the commit, since the record is what was said. A store that fails
    here leaves the record (the reports count it) and the consent as it was: the failure is
    logged as an error, for an operator to withdraw it (``PUT /customers/{id}/consent``)
    before a campaign reads it."""
    if not isinstance(store, Audience):
        return
    at = next(r.at for r in records if r.kind == WITHDRAWN)
    try:
        member = member_of(key.user, await store.customer_of(key.user))
        change = ConsentChange(at, "opt_out_words", marketing=False, night=False)
        await store.change_consent(member, change)
    except StorageError:
        log.exception("withdrawing consent failed (a %s user)", key.channel)  # ids: credentials
