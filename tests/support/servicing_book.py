"""A small book for servicing tests: borrowers, friends, signed agreements, funded or not."""

from __future__ import annotations

from datetime import UTC, date, datetime

from core.bills import FeeSchedule, make_quote
from core.capacity import IncomeBand
from core.cover import InviteTokens, Route
from core.identity import IdentityHasher, parse_resident_id
from core.money import Money
from core.services import cover
from core.services.cover import CoverConfig
from core.services.purchases import record_bill
from core.services.verification import verify
from core.services.wallet import top_up
from core.users import Language
from tests.support.harness import TEST_ID_KEY
from tests.support.idnumbers import resident_id

BOUGHT = date(2026, 11, 29)  # instalments fall due 2026-12-29, 2027-01-29, 2027-02-28
NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)
# The key the end-to-end harness runs with, so a book built here opens in the real bot.
HASHER = IdentityHasher(TEST_ID_KEY.encode())
TOKENS = InviteTokens(TEST_ID_KEY.encode())
CONFIG = CoverConfig()


async def person(uow, user_id: int, born: date) -> None:
    async with uow() as tx:
        await tx.users.upsert_seen(user_id, f"user{user_id}", "en")
        await tx.commit()
    await verify(uow, HASHER, user_id=user_id, phone=f"+861380000{user_id:04d}",
                 legal_name="张三", resident=parse_resident_id(
                     resident_id(born, sequence=f"{user_id % 1000:03d}"), BOUGHT))


async def take_link(uow, request_id: int, friend: int, now: datetime = NOW):
    """The friend opens the link they were sent: holding it is their right to the request."""
    async with uow.read() as tx:
        request = await tx.cover.request(request_id)
    return await cover.open_by_token(uow, payload=TOKENS.payload(request.token_salt),
                                     user_id=friend, now=now)


async def covered_bill(uow, borrower: int, friend: int, yuan: int = 300, share: int = 10_000,
                       plan: int = 3) -> int:
    """A bill of ``borrower`` with ``friend`` covering ``share`` of it; returns the bill id."""
    async with uow() as tx:
        bill = await record_bill(tx, borrower, make_quote(f"Shop{borrower}", Money.yuan(yuan),
                                                          plan, BOUGHT, FeeSchedule()),
                                 "chat", f"bill-{borrower}-{friend}-{yuan}")
        await tx.commit()
    created = await cover.create_request(
        uow, TOKENS, CONFIG, borrower_id=borrower, bill_id=bill.id, instalment_ids=None,
        share_bp=share, route=Route.LINK, friend_id=None, now=NOW)
    rid = created.request.id
    await take_link(uow, rid, friend)
    await cover.accept(uow, request_id=rid, user_id=friend, now=NOW)
    await cover.review_friend(uow, CONFIG, request_id=rid, friend_id=friend,
                              band=IncomeBand.FROM_20K, today=BOUGHT, now=NOW)
    text = await cover.agreement_preview(uow, CONFIG, request_id=rid, friend_id=friend,
                                         share_bp=share, language=Language.EN, today=BOUGHT,
                                         now=NOW)
    await cover.sign(uow, CONFIG, request_id=rid, friend_id=friend, share_bp=share,
                     shown_sha256=text.sha256, language=Language.EN, chat_id=None,
                     message_id=None, today=BOUGHT, now=NOW)
    return bill.id


async def fund(uow, user_id: int, yuan: int, ref: str) -> None:
    await top_up(uow, user_id=user_id, amount=Money.yuan(yuan), source="bank", ref=ref,
                 actor="operator:0")


async def standard_book(uow) -> None:
    """Borrower 1 covered by friend 11 (funded), borrower 2 by friend 12 (broke), borrower 3
    by friend 13 (funded for one instalment only), borrower 4 half-covered by friend 14."""
    for user, born in ((1, date(1990, 1, 1)), (2, date(1990, 2, 2)), (3, date(1990, 3, 3)),
                       (4, date(1990, 4, 4)), (11, date(1980, 1, 1)), (12, date(1980, 2, 2)),
                       (13, date(1980, 3, 3)), (14, date(1980, 4, 4))):
        await person(uow, user, born)
    await covered_bill(uow, 1, 11)
    await covered_bill(uow, 2, 12)
    await covered_bill(uow, 3, 13)
    await covered_bill(uow, 4, 14, share=5_000)
    await fund(uow, 11, 1000, "f11")
    await fund(uow, 13, 100, "f13")
    await fund(uow, 14, 1000, "f14")
    await fund(uow, 4, 50, "b4")
