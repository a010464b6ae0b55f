"""Alerts on a real book: raised once, planned to every operator, cleared when resolved."""

from datetime import date, timedelta

from core.money import Money
from core.risk import RiskPolicy
from core.services import risk as risk_service
from tests.support.dbcheck import q
from tests.support.servicing_book import covered_bill, person, standard_book
from tests.support.servicing_flows import DUE1, serve

OPERATORS = frozenset({900, 901})


async def test_alerts_raise_once_reach_operators_and_clear(db, uow, clock):
    await standard_book(uow)
    policy = RiskPolicy(overdue_days=2, exposure_cap=Money.yuan(250))
    for day in (DUE1, DUE1 + timedelta(days=1), DUE1 + timedelta(days=3)):
        await serve(uow, clock, day)
    first = await risk_service.evaluate(uow, clock, policy, DUE1 + timedelta(days=3), OPERATORS)
    rules = sorted((f.rule, f.subject) for _, f in first.raised)
    assert ("overdue", "instalment:4") in rules  # friend 12 defaulted: 3 days overdue
    assert ("exposure", "user:11") not in rules  # 200 left, under the cap of 250
    again = await risk_service.evaluate(uow, clock, policy, DUE1 + timedelta(days=3),
                                        OPERATORS)
    assert again.raised == [] and again.cleared == 0  # the same findings: no new alerts
    alerts = q(db, "SELECT COUNT(*) FROM alerts WHERE status = 'open'")[0][0]
    assert q(db, "SELECT COUNT(*) FROM outbox WHERE kind = 'alert'") == [(2 * alerts,)]
    # The borrower pays: the overdue finding clears on the next evaluation.
    from core.services.wallet import repay_from_wallet, top_up

    await top_up(uow, user_id=2, amount=Money.yuan(100), source="bank", ref="r", actor="op")
    await repay_from_wallet(uow, user_id=2, instalment_id=4, confirmed=Money(10_000),
                            today=DUE1 + timedelta(days=3))
    after = await risk_service.evaluate(uow, clock, policy, DUE1 + timedelta(days=3),
                                        OPERATORS)
    assert after.cleared >= 1
    assert q(db, "SELECT status FROM alerts WHERE key = 'overdue:instalment:4'") == [
        ("cleared",)]


async def test_circular_cover_and_many_borrowers(db, uow, clock):
    for user in (21, 22, 23):
        await person(uow, user, date(1990, 1, user - 20))
    await covered_bill(uow, 21, 22, yuan=30)
    await covered_bill(uow, 22, 23, yuan=30)
    await covered_bill(uow, 23, 21, yuan=30)
    found = await risk_service.evaluate(uow, clock, RiskPolicy(max_borrowers_per_friend=0),
                                        DUE1, OPERATORS, rules=("circular", "many_borrowers"))
    kinds = sorted(f.key for _, f in found.raised)
    assert kinds[0] == "circular:21,22,23"
    assert {"many_borrowers:user:21", "many_borrowers:user:22", "many_borrowers:user:23"} <= set(
        kinds)


async def test_freeze_and_acknowledge_are_events(db, uow, clock):
    await person(uow, 31, date(1990, 3, 1))
    assert await risk_service.set_frozen(uow, user_id=31, operator_id=900, reason="review")
    assert not await risk_service.set_frozen(uow, user_id=31, operator_id=900, reason="again")
    assert await risk_service.set_frozen(uow, user_id=31, operator_id=900, reason=None)
    assert q(db, "SELECT actor, kind FROM events WHERE subject = 'user:31'"
                      " AND kind LIKE 'user.%' ORDER BY id") == [
        ("operator:900", "user.frozen"), ("operator:900", "user.unfrozen")]



async def test_book_stats_put_each_overdue_amount_in_its_age_bucket(db, uow, clock):
    """The daily report's overdue ageing, on either engine: every unpaid amount past its
    due date is counted once, and what fell due on DUE1 sits in the bucket of its age."""
    await standard_book(uow)
    for day in (DUE1, DUE1 + timedelta(days=1), DUE1 + timedelta(days=3)):
        await serve(uow, clock, day)

    def unpaid_due_before(day: date, first: date = date.min) -> int:
        return q(db, "SELECT COALESCE(SUM(principal + fee - paid_amount), 0) FROM instalments"
                     " WHERE status = 'unpaid' AND due_date < ? AND due_date >= ?",
                 day.isoformat(), first.isoformat())[0][0]

    from_due1 = unpaid_due_before(DUE1 + timedelta(days=1), DUE1)
    assert from_due1 > 0  # the standard book leaves a defaulted part unpaid
    buckets = ("1-30", "31-60", "61-90", "90+")
    for age, bucket in ((3, "1-30"), (45, "31-60"), (75, "61-90"), (120, "90+")):
        day = DUE1 + timedelta(days=age)
        async with uow.read() as tx:
            stats = await tx.risk.book_stats(day)
        assert sum(stats[f"overdue_{b}"] for b in buckets) == unpaid_due_before(day), stats
        assert stats[f"overdue_{bucket}"] >= from_due1, (age, stats)
