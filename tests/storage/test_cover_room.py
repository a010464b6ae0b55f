"""An instalment is never covered for more than is left of it, and servicing survives a part
the book refuses (regressions from an independent review)."""

from datetime import date, timedelta

import pytest

from core.capacity import IncomeBand
from core.cover import Route
from core.money import Money
from core.services import cover
from core.services.cover import CoverRefusal, CoverRefused
from core.services.wallet import repay_from_wallet
from tests.support.dbcheck import q, refused
from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match
from tests.support.servicing_book import (
    CONFIG,
    NOW,
    TOKENS,
    covered_bill,
    fund,
    person,
    standard_book,
    take_link,
)
from tests.support.servicing_flows import DUE1, serve


async def ask(uow, borrower, bill, ids, share=10_000, now=NOW):
    return await cover.create_request(uow, TOKENS, CONFIG, borrower_id=borrower, bill_id=bill,
                                      instalment_ids=ids, share_bp=share, route=Route.LINK,
                                      friend_id=None, now=now)


async def test_a_debited_part_does_not_free_its_share(db, uow, clock):
    await standard_book(uow)  # borrower 4, bill 4: friend 14 covers 50% of each instalment
    await serve(uow, clock, DUE1)  # friend 14's half of instalment 10 is debited
    with pytest.raises(CoverRefused) as refused:
        await ask(uow, 4, 4, [10], now=NOW + timedelta(days=30))
    assert refused.value.reason is CoverRefusal.SHARE_TAKEN
    assert (await ask(uow, 4, 4, [10], share=5_000, now=NOW + timedelta(days=30))).request


async def test_borrowers_own_payment_leaves_no_room_for_a_second_friend(db, uow, clock):
    await standard_book(uow)
    await repay_from_wallet(uow, user_id=4, instalment_id=10, confirmed=Money(5000),
                            today=DUE1)  # pays own 50%
    with pytest.raises(CoverRefused) as refused:
        await ask(uow, 4, 4, [10], share=5_000)
    assert refused.value.reason is CoverRefusal.SHARE_TAKEN


async def test_signing_is_refused_when_room_shrank_after_the_request(db, uow, clock):
    await person(uow, 7, date(1993, 7, 7))
    await person(uow, 17, date(1983, 7, 7))
    await person(uow, 18, date(1984, 8, 8))
    bill = await covered_bill(uow, 7, 17, share=5_000)
    created = await ask(uow, 7, bill, None, share=5_000)
    await take_link(uow, created.request.id, 18)
    await cover.accept(uow, request_id=created.request.id, user_id=18, now=NOW)
    await cover.review_friend(uow, CONFIG, request_id=created.request.id, friend_id=18,
                              band=IncomeBand.FROM_20K, today=DUE1, now=NOW)
    from core.users import Language

    shown = await cover.agreement_preview(uow, CONFIG, request_id=created.request.id,
                                          friend_id=18, share_bp=5_000, language=Language.EN,
                                          today=DUE1, now=NOW)
    # Meanwhile the borrower pays their own half: nothing is left for the friend to cover.
    await fund(uow, 7, 1000, "own")
    await repay_from_wallet(uow, user_id=7, instalment_id=1, confirmed=Money(5000), today=DUE1)
    with pytest.raises(CoverRefused) as refused:
        await cover.sign(uow, CONFIG, request_id=created.request.id, friend_id=18,
                         share_bp=5_000, shown_sha256=shown.sha256, language=Language.EN,
                         chat_id=None, message_id=None, today=DUE1, now=NOW)
    assert refused.value.reason is CoverRefusal.STALE
    assert q(db, "SELECT COUNT(*) FROM agreements") == [(1,)]


async def test_storage_refuses_over_cover_whatever_the_code_does(db, uow, clock):
    await standard_book(uow)
    assert "more than is left" in refused(
        db, "INSERT INTO agreement_instalments (agreement_id, instalment_id, amount)"
            " VALUES (4, 10, 5001)")  # friend 14 already covers 5000 of 10000


async def test_default_is_recorded_even_after_the_friend_terminated(db, uow, clock):
    await standard_book(uow)  # friend 12 has no money
    await serve(uow, clock, DUE1)
    await serve(uow, clock, DUE1 + timedelta(days=1))
    done = await cover.terminate(uow, CONFIG, agreement_id=2, user_id=12,
                                 today=DUE1 + timedelta(days=1))
    assert done.kept == [4]
    await serve(uow, clock, DUE1 + timedelta(days=3))  # the last retry fails
    async with uow() as tx:
        defaults = (await tx.cover.friend_position(12, DUE1)).past_defaults
    assert defaults == 1
    assert_ledger_invariants(db)
    assert_receivables_match(db)


async def test_frozen_parties_cannot_be_reviewed_or_sign(db, uow, clock):
    await person(uow, 8, date(1994, 8, 8))
    await person(uow, 19, date(1985, 9, 9))
    from core.bills import FeeSchedule, make_quote
    from core.money import Money
    from core.services.purchases import record_bill

    async with uow() as tx:
        bill = await record_bill(tx, 8, make_quote("S", Money.yuan(300), 3, DUE1,
                                                   FeeSchedule()), "chat", "frozen-bill")
        await tx.commit()
    created = await ask(uow, 8, bill.id, None)
    await take_link(uow, created.request.id, 19)
    await cover.accept(uow, request_id=created.request.id, user_id=19, now=NOW)
    q(db, "UPDATE users SET frozen_reason = 'review' WHERE id = 19")
    with pytest.raises(CoverRefused) as refused:
        await cover.review_friend(uow, CONFIG, request_id=created.request.id, friend_id=19,
                                  band=IncomeBand.FROM_20K, today=DUE1, now=NOW)
    assert refused.value.reason is CoverRefusal.FROZEN
