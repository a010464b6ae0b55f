"""Each money and state rule under PostgreSQL's parallel writers: two real connections, each
in its own READ COMMITTED transaction, made to race at the worst moment (Rendezvous).

Where the rule rests on a row lock, the test runs twice: with the locks (the rule holds) and
with them dropped (the race breaks it), so it proves the lock is what holds the rule. Where
it rests on a constraint, dropping the repositories' locks changes nothing, and the test
says so. docs/postgres.md lists which guard each rule has."""

from __future__ import annotations

import asyncio
import re
from datetime import date, datetime, time, timedelta

import pytest

from core.bills import FeeSchedule, make_quote
from core.capacity import CapacityPolicy, IncomeBand
from core.cover import Route
from core.credit import CreditPolicy
from core.ledger import AccountKind, AccountSpec, Transfer
from core.money import Money
from core.services import cover
from core.services.cover import CoverConfig, CoverRefusal, CoverRefused
from core.services.purchases import buy, record_bill
from core.services.servicing import run_servicing
from core.services.wallet import repay_from_wallet, top_up
from core.users import Language
from storage.uow import StorageUnitOfWorkFactory
from tests.support.borrower_flows import TODAY, verified
from tests.support.dbcheck import q
from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match
from tests.support.rendezvous import Rendezvous, without_row_locks
from tests.support.servicing_book import (
    BOUGHT,
    CONFIG,
    NOW,
    TOKENS,
    covered_bill,
    fund,
    person,
    take_link,
)
from tests.support.servicing_flows import DUE1, POLICY, TZ

pytestmark = pytest.mark.postgres_only("races between parallel writers: SQLite has one writer")

LOCKS = pytest.mark.parametrize("locks", ["held", "dropped"])


def racing(db, clock, locks, monkeypatch, *patterns, parties=2):
    if locks == "dropped":
        without_row_locks(monkeypatch)
    meeting = Rendezvous(db, *patterns, parties=parties)
    return meeting, StorageUnitOfWorkFactory(meeting, clock)


async def both(*calls):
    return await asyncio.gather(*calls, return_exceptions=True)


def names(outcomes) -> list[str]:
    return sorted(type(o).__name__ if isinstance(o, BaseException)
                  else ("replayed" if getattr(o, "replayed", False) else type(o).__name__)
                  for o in outcomes)


# -- a double tap on Pay: the instalment's row lock -------------------------------------------
@LOCKS
async def test_two_repayments_of_one_instalment_pay_once(db, uow, clock, locks, monkeypatch):
    await verified(uow, 1)
    bill = await buy(uow, borrower_id=1, quote=make_quote("JD", Money.yuan(300), 3, TODAY,
                                                          FeeSchedule()),
                     ref="r1", today=TODAY, policy=CreditPolicy())
    await top_up(uow, user_id=1, amount=Money.yuan(300), source="bank", ref="b1", actor="op")
    first = bill.instalments[0]
    meeting, race = racing(db, clock, locks, monkeypatch, "FROM instalments i JOIN bills b")
    outcomes = await both(*(repay_from_wallet(race, user_id=1, instalment_id=first.id,
                                              confirmed=first.amount, today=TODAY)
                            for _ in range(2)))
    if locks == "dropped":  # both read it unpaid and both paid: the second one failed late
        assert meeting.met and any(isinstance(o, Exception) for o in outcomes), outcomes
        return
    assert not meeting.met
    assert sorted(o.already_paid for o in outcomes) == [False, True]
    assert q(db, "SELECT COUNT(*) FROM transfers WHERE kind = 'repayment'") == [(1,)]
    assert q(db, "SELECT balance FROM accounts WHERE code = 'wallet:1'") == [
        (30_000 - first.amount.fen,)]
    assert_ledger_invariants(db)
    assert_receivables_match(db)


# -- caps and room at request: the borrower's row lock -----------------------------------------
@LOCKS
async def test_two_requests_for_one_bill_ask_for_its_room_once(db, uow, clock, locks,
                                                                monkeypatch):
    await verified(uow, 1)
    async with uow() as tx:
        bill = await record_bill(tx, 1, make_quote("JD", Money.yuan(300), 3, TODAY,
                                                   FeeSchedule()), "chat", "b1")
        await tx.commit()
    meeting, race = racing(db, clock, locks, monkeypatch, "JOIN cover_requests r ON r.id")

    def ask():
        return cover.create_request(race, TOKENS, CONFIG, borrower_id=1, bill_id=bill.id,
                                    instalment_ids=None, share_bp=10_000, route=Route.LINK,
                                    friend_id=None, now=NOW)

    outcomes = await both(ask(), ask())
    asked = q(db, "SELECT COUNT(*) FROM cover_requests")
    if locks == "dropped":  # both saw the room free: the bill is asked for twice over
        assert meeting.met and asked == [(2,)]
        return
    assert asked == [(1,)]
    refusals = [o for o in outcomes if isinstance(o, CoverRefused)]
    assert [r.reason for r in refusals] == [CoverRefusal.SHARE_TAKEN]


# -- caps at signing: the friend's row lock ------------------------------------------------------
@LOCKS
async def test_a_friend_at_their_cap_signs_one_of_two_at_once(db, uow, clock, locks,
                                                               monkeypatch):
    await person(uow, 1, date(1990, 1, 1))
    await person(uow, 2, date(1990, 2, 2))
    await person(uow, 3, date(1980, 3, 3))
    requests = []
    for borrower in (1, 2):
        async with uow() as tx:
            bill = await record_bill(tx, borrower, make_quote("JD", Money.yuan(300), 3, BOUGHT,
                                                              FeeSchedule()), "chat",
                                     f"b{borrower}")
            await tx.commit()
        created = await cover.create_request(uow, TOKENS, CONFIG, borrower_id=borrower,
                                             bill_id=bill.id, instalment_ids=None,
                                             share_bp=10_000, route=Route.LINK, friend_id=None,
                                             now=NOW)
        rid = created.request.id
        await take_link(uow, rid, 3)
        await cover.accept(uow, request_id=rid, user_id=3, now=NOW)
        await cover.review_friend(uow, CONFIG, request_id=rid, friend_id=3,
                                  band=IncomeBand.FROM_20K, today=BOUGHT, now=NOW)
        text = await cover.agreement_preview(uow, CONFIG, request_id=rid, friend_id=3,
                                             share_bp=10_000, language=Language.EN,
                                             today=BOUGHT, now=NOW)
        requests.append((rid, text.sha256))
    one_at_most = CoverConfig(capacity=CapacityPolicy(max_active_agreements=1))
    meeting, race = racing(db, clock, locks, monkeypatch,
                           "COUNT(*) FROM agreements WHERE friend_id")
    outcomes = await both(*(cover.sign(race, one_at_most, request_id=rid, friend_id=3,
                                       share_bp=10_000, shown_sha256=sha, language=Language.EN,
                                       chat_id=3, message_id=1, today=BOUGHT, now=NOW)
                            for rid, sha in requests))
    signed = q(db, "SELECT COUNT(*) FROM agreements WHERE friend_id = 3")
    if locks == "dropped":  # each saw no agreement yet: the friend is over their cap
        assert meeting.met and signed == [(2,)]
        return
    assert signed == [(1,)]
    assert [o.reason for o in outcomes if isinstance(o, CoverRefused)] == [
        CoverRefusal.CAPACITY]


async def link_request(uow, friends: tuple[int, ...]) -> int:
    """Borrower 1's whole 300-yuan bill offered by link, opened by each of ``friends``."""
    await person(uow, 1, date(1990, 1, 1))
    for friend in friends:
        await person(uow, friend, date(1980, friend, friend))
    async with uow() as tx:
        bill = await record_bill(tx, 1, make_quote("JD", Money.yuan(300), 3, BOUGHT,
                                                   FeeSchedule()), "chat", "b1")
        await tx.commit()
    created = await cover.create_request(uow, TOKENS, CONFIG, borrower_id=1, bill_id=bill.id,
                                         instalment_ids=None, share_bp=10_000, route=Route.LINK,
                                         friend_id=None, now=NOW)
    for friend in friends:
        await take_link(uow, created.request.id, friend)
    return created.request.id


# -- two Sign presses: the request's row lock -----------------------------------------------------
@LOCKS
async def test_two_presses_of_sign_sign_once_and_both_hear_so(db, uow, clock, locks,
                                                                monkeypatch):
    rid = await link_request(uow, friends=(2,))
    await cover.accept(uow, request_id=rid, user_id=2, now=NOW)
    await cover.review_friend(uow, CONFIG, request_id=rid, friend_id=2,
                              band=IncomeBand.FROM_20K, today=BOUGHT, now=NOW)
    sha = (await cover.agreement_preview(uow, CONFIG, request_id=rid, friend_id=2,
                                         share_bp=10_000, language=Language.EN, today=BOUGHT,
                                         now=NOW)).sha256
    meeting, race = racing(db, clock, locks, monkeypatch, "FROM cover_requests r WHERE r.id")
    outcomes = await both(*(cover.sign(race, CONFIG, request_id=rid, friend_id=2,
                                       share_bp=10_000, shown_sha256=sha, language=Language.EN,
                                       chat_id=2, message_id=1, today=BOUGHT, now=NOW)
                            for _ in range(2)))
    assert q(db, "SELECT COUNT(*) FROM agreements") == [(1,)]  # the CAS keeps it to one
    if locks == "dropped":  # the second press was told no, though the agreement is signed
        assert meeting.met and any(isinstance(o, CoverRefused) for o in outcomes), outcomes
        return
    assert sorted(o.already for o in outcomes) == [False, True]


# -- two acceptances of one link: the compare-and-set --------------------------------------------
@LOCKS
async def test_two_friends_accepting_one_link_bind_it_to_one(db, uow, clock, locks,
                                                              monkeypatch):
    """The guard is the conditional UPDATE (status must still be the one read): it holds
    with the row locks dropped too. The lock only makes the loser's answer exact."""
    rid = await link_request(uow, friends=(2, 3))
    meeting, race = racing(db, clock, locks, monkeypatch, "FROM cover_requests r WHERE r.id")
    outcomes = await both(*(cover.accept(race, request_id=rid, user_id=f, now=NOW)
                            for f in (2, 3)))
    assert meeting.met is (locks == "dropped")
    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(winners) == 1 and winners[0][1] is True
    assert [o.reason for o in outcomes if isinstance(o, CoverRefused)] == [CoverRefusal.TAKEN]
    (friend,), = q(db, "SELECT friend_id FROM cover_requests")
    assert friend == winners[0][0].friend_id
    assert q(db, "SELECT COUNT(*) FROM events WHERE kind = 'cover.accepted'") == [(1,)]


# -- a debit racing a termination: the agreement's row lock ---------------------------------------
@LOCKS
async def test_a_debit_racing_a_termination_takes_nothing_that_was_returned(db, uow, clock,
                                                                             locks, monkeypatch):
    await person(uow, 6, date(1992, 6, 6))
    await person(uow, 16, date(1982, 6, 6))
    await covered_bill(uow, 6, 16)
    await fund(uow, 16, 1000, "f16")
    # Late on the eve of the first due date the borrower ends it (every part comes back);
    # the servicing run for the due date is already debiting (its page's read of the
    # slice's parts meets the termination's read of the agreement's).
    meeting, race = racing(db, clock, locks, monkeypatch, "a.friend_id > ?",
                           "WHERE ai.agreement_id = ? ORDER BY i.due_date")
    clock.set(datetime.combine(DUE1, time(6), tzinfo=TZ))
    ended, _ = await both(
        cover.terminate(race, CONFIG, agreement_id=1, user_id=6, today=DUE1 - timedelta(1)),
        run_servicing(race, clock, TZ, POLICY, DUE1))
    assert meeting.met  # both read the part as covered, whatever the locks
    (part,), = q(db, "SELECT status FROM agreement_instalments WHERE instalment_id = 1")
    debits = q(db, "SELECT COUNT(*) FROM transfers WHERE kind = 'debit'")[0][0]
    returned = 1 in ended.returned
    consistent = (part == "returned" and returned and debits == 0) or (
        part == "paid" and not returned and debits == 1)
    if locks == "dropped":  # the friend paid for a part the borrower took back, or the
        assert not consistent, (part, ended.returned, debits)  # events say it came back
        return
    assert consistent, (part, ended.returned, debits)
    assert_ledger_invariants(db)
    assert_receivables_match(db)


# -- the ledger: a unique key, and the accounts' row locks in the transfer trigger ---------
BANK = AccountSpec("external:bank", AccountKind.EXTERNAL)


async def _wallet_with(uow, fen: int):
    async with uow() as tx:
        bank = await tx.ledger.open_account(BANK)
        wallet = await tx.ledger.open_account(AccountSpec.wallet(7))
        if fen:
            await tx.ledger.post(Transfer.between("seed", "topup", bank.id, wallet.id,
                                                  Money(fen)))
        await tx.commit()
    return bank, wallet


async def _post(uow, transfer):
    async with uow() as tx:
        posted = await tx.ledger.post(transfer)
        await tx.commit()
    return posted


async def test_one_key_posted_from_two_connections_posts_once(db, uow, clock):
    """The guard is the unique key: the second INSERT waits for the first transaction and
    then finds the key taken, so it is a replay of the same transfer."""
    bank, wallet = await _wallet_with(uow, 0)
    meeting = Rendezvous(db, "INSERT INTO transfers")
    race = StorageUnitOfWorkFactory(meeting, clock)
    topup = Transfer.between("k1", "topup", bank.id, wallet.id, Money(500))
    outcomes = await both(_post(race, topup), _post(race, topup))
    assert not meeting.met  # the second waited on the key
    assert names(outcomes) == ["PostedTransfer", "replayed"]
    assert len({o.id for o in outcomes}) == 1
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(500,)]
    assert_ledger_invariants(db)


@pytest.mark.parametrize("locks", ["held", "dropped"])
async def test_wallet_debits_racing_a_top_up(db, uow, clock, locks):
    bank, wallet = await _wallet_with(uow, 10_000)
    if locks == "dropped":
        await _drop_the_accounts_lock(db)
    meeting = Rendezvous(db, "INSERT INTO transfers", parties=3)
    race = StorageUnitOfWorkFactory(meeting, clock)
    outcomes = await both(
        _post(race, Transfer.between("d1", "debit", wallet.id, bank.id, Money(10_000))),
        _post(race, Transfer.between("d2", "debit", wallet.id, bank.id, Money(10_000))),
        _post(race, Transfer.between("t1", "topup", bank.id, wallet.id, Money(5_000))))
    kinds = names(outcomes)
    if locks == "dropped":  # both debits saw 100.00: the CHECK stops the overdraft, as an
        assert "InsufficientFunds" not in kinds, kinds  # error instead of a clean refusal
        return
    assert kinds == ["InsufficientFunds", "PostedTransfer", "PostedTransfer"]
    assert q(db, f"SELECT balance FROM accounts WHERE id = {wallet.id}") == [(5_000,)]
    assert_ledger_invariants(db)


async def _drop_the_accounts_lock(db) -> None:
    async with db.pool.acquire() as conn:
        source = await conn.fetchval("SELECT pg_get_functiondef('transfers_check'::regproc)")
        unlocked, n = re.subn(r"(FROM accounts\s+WHERE id = ANY \(ids\) ORDER BY id)"
                              r" FOR UPDATE LOOP", r"\1 LOOP", source)
        assert n == 1
        await conn.execute(unlocked)

