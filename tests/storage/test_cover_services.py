"""Cover requests and agreements on a real SQLite file."""

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest

from core.bills import FeeSchedule, make_quote
from core.capacity import Decision, IncomeBand
from core.cover import CoverStatus, Route
from core.money import Money
from core.services import cover
from core.services.cover import CoverConfig, CoverRefusal, CoverRefused
from core.services.purchases import record_bill
from core.users import Language
from tests.support.borrower_flows import verified
from tests.support.dbcheck import INTEGRITY_ERRORS, dump, q
from tests.support.dbcheck import refused as refused_by_database
from tests.support.servicing_book import TOKENS, take_link

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)
TODAY = date(2026, 11, 29)
CONFIG = CoverConfig()


async def setup_bill(uow, borrower=1, amount=300, plan=3):
    await verified(uow, borrower)
    async with uow() as tx:
        bill = await record_bill(tx, borrower, make_quote("JD", Money.yuan(amount), plan, TODAY,
                                                          FeeSchedule()), "chat", f"b{borrower}")
        await tx.commit()
    return bill


async def ask(uow, bill, share=10_000, friend=None, route=Route.LINK, ids=None, now=NOW):
    return await cover.create_request(uow, TOKENS, CONFIG, borrower_id=bill.borrower_id,
                                      bill_id=bill.id, instalment_ids=ids, share_bp=share,
                                      route=route, friend_id=friend, now=now)


async def through_review(uow, request_id, friend, band=IncomeBand.FROM_5K):
    await take_link(uow, request_id, friend)
    await cover.accept(uow, request_id=request_id, user_id=friend, now=NOW)
    return await cover.review_friend(uow, CONFIG, request_id=request_id, friend_id=friend,
                                     band=band, today=TODAY, now=NOW)


async def sign(uow, request_id, friend, share=10_000, language=Language.EN, sha=None):
    if sha is None:
        sha = (await cover.agreement_preview(uow, CONFIG, request_id=request_id,
                                             friend_id=friend, share_bp=share,
                                             language=language, today=TODAY,
                                             now=NOW)).sha256
    return await cover.sign(uow, CONFIG, request_id=request_id, friend_id=friend, share_bp=share,
                            shown_sha256=sha, language=language, chat_id=friend, message_id=9,
                            today=TODAY, now=NOW)


async def refused(coro, reason):
    with pytest.raises(CoverRefused) as error:
        await coro
    assert error.value.reason is reason, error.value.reason
    return error.value


async def test_link_to_signed_agreement(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    assert len(created.token) == 32
    assert created.token not in dump(db)
    opened, first = await cover.open_by_token(
        uow, payload=TOKENS.payload(created.request.token_salt), user_id=2, now=NOW)
    found = opened
    assert found.id == created.request.id
    assert first and opened.status is CoverStatus.OPENED
    await verified(uow, 2, born=date(1991, 1, 1))
    outcome = await through_review(uow, found.id, 2)
    assert outcome.decision is Decision.APPROVE
    signed = await sign(uow, found.id, 2)
    agreement = signed.agreement
    assert agreement.friend_id == 2 and agreement.share_bp == 10_000
    assert q(db, "SELECT status FROM cover_requests") == [("signed",)]
    assert q(db, "SELECT COUNT(*), SUM(amount) FROM agreement_instalments") == [(3, 30000)]
    kinds = [k for (k,) in q(db, "SELECT kind FROM events WHERE subject LIKE 'cover:%'"
                                      " ORDER BY id")]
    assert kinds == ["cover.created", "cover.opened", "cover.accepted", "cover.reviewed",
                     "cover.signed"]


async def test_signed_text_never_changes_and_hash_matches(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    await through_review(uow, created.request.id, 2)
    agreement = (await sign(uow, created.request.id, 2, language=Language.ZH)).agreement
    import hashlib
    (text, sha), = q(db, "SELECT text, text_sha256 FROM agreements")
    assert hashlib.sha256(text.encode()).hexdigest() == sha == agreement.text_sha256
    for sql in ("UPDATE agreements SET text = 'x'", "UPDATE agreements SET text_sha256 = 'x'",
                "UPDATE agreements SET share_bp = 1", "DELETE FROM agreements"):
        assert "never" in refused_by_database(db, sql)


async def test_two_presses_of_sign_make_one_agreement(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    await through_review(uow, created.request.id, 2)
    sha = (await cover.agreement_preview(uow, CONFIG, request_id=created.request.id, friend_id=2,
                                         share_bp=10_000, language=Language.EN, today=TODAY,
                                         now=NOW)).sha256
    results = await asyncio.gather(*(sign(uow, created.request.id, 2, sha=sha)
                                     for _ in range(4)))
    assert sum(not r.already for r in results) == 1
    assert len({r.agreement.id for r in results}) == 1
    assert q(db, "SELECT COUNT(*) FROM agreements") == [(1,)]


async def test_stale_text_and_forged_share_are_refused(db, uow):
    bill = await setup_bill(uow, amount=3000)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    outcome = await through_review(uow, created.request.id, 2, band=IncomeBand.UNDER_3K)
    offered = outcome.share_bp  # reduced
    assert offered < 10_000
    await refused(sign(uow, created.request.id, 2, share=offered, sha="0" * 64),
                  CoverRefusal.STALE)
    await refused(sign(uow, created.request.id, 2, share=10_000), CoverRefusal.CAPACITY)
    # Nor a smaller share than offered: the borrower asked for the offered one, no less.
    for forged in (1, offered - 500):
        await refused(cover.agreement_preview(uow, CONFIG, request_id=created.request.id,
                                              friend_id=2, share_bp=forged,
                                              language=Language.EN, today=TODAY, now=NOW),
                      CoverRefusal.STALE)
        await refused(sign(uow, created.request.id, 2, share=forged, sha="0" * 64),
                      CoverRefusal.STALE)
    assert q(db, "SELECT COUNT(*) FROM agreements") == [(0,)]


async def test_who_may_act(db, uow):
    bill = await setup_bill(uow)
    addressed = await ask(uow, bill, share=5000, friend=2, route=Route.CONTACT)
    rid = addressed.request.id
    # Someone who guesses the id gets what a request that does not exist gets...
    for action in (cover.open_request, cover.accept, cover.decline):
        await refused(action(uow, request_id=rid, user_id=3, now=NOW), CoverRefusal.NOT_FOUND)
    # ...and someone the link was forwarded to learns it is meant for someone else.
    await refused(take_link(uow, rid, 3), CoverRefusal.TAKEN)
    await refused(cover.accept(uow, request_id=rid, user_id=3, now=NOW), CoverRefusal.TAKEN)
    await refused(cover.accept(uow, request_id=rid, user_id=1, now=NOW), CoverRefusal.SELF)
    await refused(cover.cancel(uow, request_id=rid, borrower_id=2), CoverRefusal.NOT_FOUND)
    link = await ask(uow, bill, share=5000)
    await refused(cover.accept(uow, request_id=link.request.id, user_id=3, now=NOW),
                  CoverRefusal.NOT_FOUND)  # an open link's id is no key to it
    await take_link(uow, link.request.id, 3)
    await cover.accept(uow, request_id=link.request.id, user_id=3, now=NOW)
    # The link reached a second person too, but an open link binds to the first who accepts.
    await refused(take_link(uow, link.request.id, 4), CoverRefusal.TAKEN)
    await refused(cover.accept(uow, request_id=link.request.id, user_id=4, now=NOW),
                  CoverRefusal.TAKEN)
    await refused(cover.cancel(uow, request_id=link.request.id, borrower_id=1),
                  CoverRefusal.CLOSED)  # accepted: revoke, not cancel
    revoked = await cover.revoke(uow, request_id=link.request.id, borrower_id=1)
    assert revoked.status is CoverStatus.REVOKED
    await refused(cover.accept(uow, request_id=link.request.id, user_id=3, now=NOW),
                  CoverRefusal.CLOSED)


async def test_one_identity_cannot_be_on_two_accounts(db, uow):
    """Why the friend can never be the borrower under another account: storage refuses a
    second account with the same identity; the services check again before accepting."""
    await setup_bill(uow)
    async with uow() as tx:
        borrower = await tx.identities.get(1)
        await tx.users.upsert_seen(7, "twin", "en")
        from dataclasses import replace
        with pytest.raises(INTEGRITY_ERRORS):
            await tx.identities.add(replace(borrower, user_id=7))


async def test_expiry_cancel_and_reuse(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    later = NOW + timedelta(hours=48)
    await refused(take_link(uow, created.request.id, 2, now=later), CoverRefusal.EXPIRED)
    assert q(db, "SELECT status FROM cover_requests") == [("expired",)]
    again = await ask(uow, bill)
    cancelled = await cover.cancel(uow, request_id=again.request.id, borrower_id=1)
    assert cancelled.status is CoverStatus.CANCELLED
    await refused(take_link(uow, again.request.id, 2), CoverRefusal.CLOSED)
    third = await ask(uow, bill)
    assert [r.id for r in await cover.expire_due(uow, now=later + timedelta(hours=1))] == [
        third.request.id]


async def test_shares_friends_and_rate_limit(db, uow):
    bill = await setup_bill(uow)
    await ask(uow, bill, share=6000)
    await refused(ask(uow, bill, share=5000, ids=[bill.instalments[0].id]),
                  CoverRefusal.SHARE_TAKEN)
    await ask(uow, bill, share=3000)
    await ask(uow, bill, share=1000)
    await refused(ask(uow, bill, share=100), CoverRefusal.TOO_MANY_FRIENDS)
    await refused(ask(uow, bill, share=100, friend=1), CoverRefusal.SELF)
    config = CoverConfig(invites_per_day=3)
    second_bill = None
    async with uow() as tx:
        second_bill = await record_bill(tx, 1, make_quote("X", Money.yuan(90), 3, TODAY,
                                                          FeeSchedule()), "chat", "b-second")
        await tx.commit()
    with pytest.raises(CoverRefused) as limited:
        await cover.create_request(uow, TOKENS, config, borrower_id=1, bill_id=second_bill.id,
                                   instalment_ids=None, share_bp=10_000, route=Route.LINK,
                                   friend_id=None, now=NOW)
    assert limited.value.reason is CoverRefusal.RATE_LIMITED
    assert (await cover.create_request(uow, TOKENS, config, borrower_id=1,
                                       bill_id=second_bill.id, instalment_ids=None,
                                       share_bp=10_000, route=Route.LINK, friend_id=None,
                                       now=NOW + timedelta(hours=24, seconds=1))).request


async def test_capacity_decline_ends_the_request(db, uow):
    bill = await setup_bill(uow, amount=30000)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    outcome = await through_review(uow, created.request.id, 2, band=IncomeBand.UNDER_3K)
    assert outcome.decision is Decision.DECLINE
    assert q(db, "SELECT status, income_band FROM cover_requests") == [("declined", "lt3k")]


async def test_termination_rules(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    await through_review(uow, created.request.id, 2)
    agreement = (await sign(uow, created.request.id, 2)).agreement
    first_due = bill.instalments[0].due_date
    err = await refused(cover.terminate(uow, CONFIG, agreement_id=agreement.id, user_id=2,
                                        today=first_due - timedelta(days=2)),
                        CoverRefusal.NOTICE_TOO_SHORT)
    assert err.detail["next_due"] == first_due
    await refused(cover.terminate(uow, CONFIG, agreement_id=agreement.id, user_id=3,
                                  today=TODAY), CoverRefusal.NOT_FOUND)
    # On the first due date: that one stays with the friend, the rest go back.
    done = await cover.terminate(uow, CONFIG, agreement_id=agreement.id, user_id=2,
                                 today=first_due)
    assert done.kept == [bill.instalments[0].id]
    assert done.returned == [i.id for i in bill.instalments[1:]]
    assert q(db, "SELECT status FROM agreements") == [("terminated",)]
    assert q(db, "SELECT status FROM agreement_instalments ORDER BY instalment_id") == [
        ("covered",), ("returned",), ("returned",)]
    await refused(cover.terminate(uow, CONFIG, agreement_id=agreement.id, user_id=1,
                                  today=TODAY), CoverRefusal.NOT_ACTIVE)


async def test_borrower_takes_back_any_time(db, uow):
    bill = await setup_bill(uow)
    created = await ask(uow, bill)
    await verified(uow, 2, born=date(1991, 1, 1))
    await through_review(uow, created.request.id, 2)
    agreement = (await sign(uow, created.request.id, 2)).agreement
    done = await cover.terminate(uow, CONFIG, agreement_id=agreement.id, user_id=1,
                                 today=bill.instalments[0].due_date - timedelta(days=1))
    assert len(done.returned) == 3 and done.kept == []


async def test_notices_are_planned_with_the_change_they_report(db, uow):
    """Each transition's notice is in the outbox in the same transaction: a Telegram error
    later can delay it, never lose it."""
    bill = await setup_bill(uow)
    created = await ask(uow, bill, share=3000)
    later = NOW + timedelta(hours=49)
    await take_link(uow, created.request.id, 2)
    second = await ask(uow, bill, share=3000)
    third = await ask(uow, bill, share=3000)
    expired = await cover.expire_due(uow, now=later)
    assert {r.id for r in expired} == {created.request.id, second.request.id, third.request.id}
    rows = q(db, "SELECT key, recipient_id, kind, status FROM outbox ORDER BY id")
    assert rows == [
        (f"cover:{created.request.id}:opened:1", 1, "notify.opened", "pending"),
        (f"cover:{created.request.id}:expired:1", 1, "notify.expired", "pending"),
        (f"cover:{second.request.id}:expired:1", 1, "notify.expired", "pending"),
        (f"cover:{third.request.id}:expired:1", 1, "notify.expired", "pending")]
    # Facts only: who acted is an id, shown by name when sent (bot.notices), so the outbox
    # holds no one's name.
    assert q(db, "SELECT params FROM outbox ORDER BY id LIMIT 1") == [
        (json.dumps({"id": created.request.id, "party": 2}),)]
