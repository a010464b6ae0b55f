"""Borrower services on a real SQLite file: verification, purchase, top-up, repayment."""

import asyncio
from datetime import date

import pytest

from core.bills import FeeSchedule, make_quote
from core.credit import CreditPolicy
from core.money import Money
from core.services.purchases import PurchaseRefusal, PurchaseRefused, buy
from core.services.verification import VerificationRefusal, VerificationRefused
from core.services.wallet import RepayRefusal, RepayRefused, repay_from_wallet, top_up
from tests.support.borrower_flows import TODAY, verified
from tests.support.dbcheck import dump, q, refused
from tests.support.idnumbers import resident_id
from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match

POLICY = CreditPolicy()




def assert_receivable_matches_instalments(db):
    assert_receivables_match(db)


async def test_identity_stored_as_hash_and_mask_only(db, uow):
    identity = await verified(uow, 1)
    number = resident_id(date(1990, 5, 17))
    stored = dump(db)
    assert number not in stored and number[:-1] not in stored
    assert "+8613800000001" not in stored and "13800000001" not in stored
    assert identity.id_mask in stored


async def test_same_identity_on_second_account_is_refused_and_recorded(db, uow):
    await verified(uow, 1)
    with pytest.raises(VerificationRefused) as refused:
        await verified(uow, 2)
    assert refused.value.reason is VerificationRefusal.DUPLICATE_IDENTITY
    assert q(db, "SELECT user_id FROM identities") == [(1,)]
    assert q(db, "SELECT subject, kind FROM events WHERE kind LIKE 'identity.%'") == [
        ("user:1", "identity.verified"), ("user:2", "identity.duplicate_refused")]
    with pytest.raises(VerificationRefused) as again:
        await verified(uow, 1, sequence="456")
    assert again.value.reason is VerificationRefusal.ALREADY_VERIFIED


async def test_purchase_refusals_change_nothing(db, uow):
    quote = make_quote("JD", Money.yuan(300), 3, TODAY, FeeSchedule())
    async with uow() as tx:
        await tx.users.upsert_seen(1, "A", "en")
        await tx.commit()
    with pytest.raises(PurchaseRefused) as refused:
        await buy(uow, borrower_id=1, quote=quote, ref="r1", today=TODAY, policy=POLICY)
    assert refused.value.reason is PurchaseRefusal.UNVERIFIED
    await verified(uow, 1)
    big = make_quote("JD", Money.yuan(2000) + Money(1), 3, TODAY, FeeSchedule())
    with pytest.raises(PurchaseRefused) as over:
        await buy(uow, borrower_id=1, quote=big, ref="r2", today=TODAY, policy=POLICY)
    assert over.value.reason is PurchaseRefusal.OVER_LINE
    assert over.value.available == Money.yuan(2000)
    assert q(db, "SELECT COUNT(*) FROM bills") == [(0,)]
    assert q(db, "SELECT COUNT(*) FROM transfers") == [(0,)]


async def test_purchase_then_line_is_used(db, uow):
    await verified(uow, 1)
    quote = make_quote("JD", Money.yuan(1500), 12, TODAY, FeeSchedule())
    bill = await buy(uow, borrower_id=1, quote=quote, ref="r1", today=TODAY, policy=POLICY)
    again = await buy(uow, borrower_id=1, quote=quote, ref="r1", today=TODAY, policy=POLICY)
    assert again.id == bill.id  # a repeated confirmation is the same purchase
    assert len(bill.instalments) == 12 and bill.fee == Money(10800)
    second = make_quote("JD", Money.yuan(501), 3, TODAY, FeeSchedule())
    with pytest.raises(PurchaseRefused):
        await buy(uow, borrower_id=1, quote=second, ref="r2", today=TODAY, policy=POLICY)
    assert q(db, "SELECT COUNT(*) FROM events WHERE kind = 'instalment.scheduled'") == [(12,)]
    assert_ledger_invariants(db)
    assert_receivable_matches_instalments(db)


async def test_top_up_replay_posts_once(db, uow):
    for _ in range(3):
        await top_up(uow, user_id=5, amount=Money.yuan(100), source="bank", ref="BANK-1",
                     actor="operator:9")
    assert q(db, "SELECT balance FROM accounts WHERE code = 'wallet:5'") == [(10000,)]
    assert q(db, "SELECT COUNT(*) FROM events WHERE kind = 'wallet.topped_up'") == [(1,)]


async def test_a_repayment_the_receivable_does_not_owe_posts_nothing(db, uow, caplog):
    """If the book's receivable owes less than the instalment says (it disagrees with
    itself), paying is refused as changed, nothing is posted and operators get a log line;
    it is never reported as the wallet being short."""
    from core.accounts import receivable_of
    from core.ledger import AccountKind, AccountSpec, Transfer

    await verified(uow, 1)
    bill = await buy(uow, borrower_id=1, quote=make_quote("JD", Money.yuan(300), 3, TODAY,
                                                          FeeSchedule()),
                     ref="r1", today=TODAY, policy=POLICY)
    await top_up(uow, user_id=1, amount=Money.yuan(300), source="bank", ref="b1", actor="op")
    async with uow() as tx:  # settle the receivable outside the bills: they now disagree
        bank = await tx.ledger.open_account(AccountSpec("external:settle", AccountKind.EXTERNAL))
        owed = await receivable_of(tx.ledger, 1)
        await tx.ledger.post(Transfer.between("settle:1", "settle", bank.id, owed.id,
                                              Money.yuan(300)))
        await tx.commit()
    transfers = q(db, "SELECT COUNT(*) FROM transfers")
    with pytest.raises(RepayRefused) as refused:
        await repay_from_wallet(uow, user_id=1, instalment_id=bill.instalments[0].id,
                                confirmed=Money(10_000), today=TODAY)
    assert refused.value.reason is RepayRefusal.CHANGED
    assert q(db, "SELECT COUNT(*) FROM transfers") == transfers
    assert "would overpay receivable" in caplog.text
    assert_ledger_invariants(db)


async def test_repay_double_tap_pays_once(db, uow):
    await verified(uow, 1)
    bill = await buy(uow, borrower_id=1, quote=make_quote("JD", Money.yuan(300), 3, TODAY,
                                                          FeeSchedule()),
                     ref="r1", today=TODAY, policy=POLICY)
    first = bill.instalments[0]
    with pytest.raises(RepayRefused) as poor:
        await repay_from_wallet(uow, user_id=1, instalment_id=first.id,
                                confirmed=Money(10_000), today=TODAY)
    assert poor.value.reason is RepayRefusal.INSUFFICIENT_FUNDS
    await top_up(uow, user_id=1, amount=Money.yuan(150), source="bank", ref="b1", actor="op")
    results = await asyncio.gather(*(repay_from_wallet(uow, user_id=1, instalment_id=first.id,
                                                       confirmed=Money(10_000), today=TODAY)
                                     for _ in range(5)))
    assert sum(not r.already_paid for r in results) == 1
    assert q(db, "SELECT balance FROM accounts WHERE code = 'wallet:1'") == [(5000,)]
    with pytest.raises(RepayRefused) as stranger:
        await repay_from_wallet(uow, user_id=2, instalment_id=bill.instalments[1].id,
                                confirmed=Money(10_000), today=TODAY)
    assert stranger.value.reason is RepayRefusal.NOT_FOUND
    assert_ledger_invariants(db)
    assert_receivable_matches_instalments(db)


async def test_paid_instalment_is_final_in_storage(db, uow):
    await verified(uow, 1)
    bill = await buy(uow, borrower_id=1, quote=make_quote("JD", Money.yuan(30), 3, TODAY,
                                                          FeeSchedule()),
                     ref="r1", today=TODAY, policy=POLICY)
    await top_up(uow, user_id=1, amount=Money.yuan(30), source="bank", ref="b1", actor="op")
    await repay_from_wallet(uow, user_id=1, instalment_id=bill.instalments[0].id,
                            confirmed=Money(1000), today=TODAY)
    assert "already paid" in refused(
        db, f"UPDATE instalments SET status = 'unpaid', payment_transfer_id = NULL"
            f" WHERE id = {bill.instalments[0].id}")
