from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.bills import FeeSchedule, PurchaseError, add_months, make_quote
from core.credit import CreditPolicy, RepaymentRecord, Tier, rate
from core.money import Money

TODAY = date(2026, 11, 29)
POLICY = CreditPolicy()


def record(due, paid=None, amount=10000):
    return RepaymentRecord(due, paid, Money(amount))


def factors(rating):
    return {f.code: f.points for f in rating.factors}


def test_verified_newcomer_starts_in_tier_d():
    rating = rate(records=[], verified=True, first_seen=TODAY, outstanding=Money(0),
                  today=TODAY, policy=POLICY)
    assert (rating.score, rating.tier, rating.line) == (580, Tier.D, Money.yuan(2000))


def test_unverified_gets_no_credit():
    rating = rate(records=[], verified=False, first_seen=date(2020, 1, 1), outstanding=Money(0),
                  today=TODAY, policy=POLICY)
    assert rating.tier is Tier.E and rating.line == Money(0) and rating.available == Money(0)


def test_good_history_raises_tier_and_explains_why():
    records = [record(date(2025, m, 10), date(2025, m, 9)) for m in range(1, 13)]
    rating = rate(records=records, verified=True, first_seen=date(2024, 6, 1),
                  outstanding=Money(0), today=TODAY, policy=POLICY)
    assert factors(rating) == {"identity": 20, "tenure": 40, "on_time": 60, "overdue_count": 0,
                               "overdue_depth": 0, "utilisation": 20}
    assert rating.tier is Tier.A


def test_deep_overdue_lowers_tier():
    records = [record(date(2025, m, 10), date(2025, m, 9)) for m in range(1, 10)]
    records.append(record(date(2026, 6, 1)))  # unpaid, 181 days late
    rating = rate(records=records, verified=True, first_seen=date(2024, 6, 1),
                  outstanding=Money(0), today=TODAY, policy=POLICY)
    assert factors(rating)["overdue_depth"] == -120
    assert factors(rating)["overdue_count"] == -15
    assert rating.tier in (Tier.D, Tier.E)


def test_utilisation_band_edges():
    base = dict(records=[], verified=True, first_seen=TODAY, today=TODAY, policy=POLICY)
    line = POLICY.lines[Tier.D].fen
    assert factors(rate(outstanding=Money(line * 29 // 100), **base))["utilisation"] == 0
    history = [record(date(2025, m, 10), date(2025, m, 9)) for m in range(1, 4)]
    base["records"] = history  # 580 + 20 identity + 20 tenure + 60 on time: provisional B
    line = POLICY.lines[Tier.B].fen
    assert factors(rate(outstanding=Money(line * 29 // 100), **base))["utilisation"] == 20
    assert factors(rate(outstanding=Money(line * 30 // 100), **base))["utilisation"] == 0
    assert factors(rate(outstanding=Money(line * 95 // 100), **base))["utilisation"] == -40


def test_policy_validation():
    with pytest.raises(ValueError):
        CreditPolicy({**POLICY.lines, Tier.E: Money(1)})


def test_schedule_rounding_and_dates():
    quote = make_quote("京东", Money(10000), 3, date(2026, 1, 31), FeeSchedule())
    assert [i.amount.fen for i in quote.instalments] == [3334, 3333, 3333]
    assert [i.due_date for i in quote.instalments] == [
        date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert quote.fee == Money(0)


def test_fee_for_twelve_rounds_half_up():
    fees = FeeSchedule({1: 100, 12: 720})
    quote = make_quote("Shop", Money(12345), 12, TODAY, fees)
    assert quote.fee == Money(889)  # 12345 × 7.2% = 888.84 → 889
    assert sum(i.amount.fen for i in quote.instalments) == 12345 + 889
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)


def test_interest_free_plans_cannot_be_charged():
    with pytest.raises(ValueError):
        FeeSchedule({3: 100})
    with pytest.raises(PurchaseError):
        make_quote("Shop", Money(1000), 5, TODAY, FeeSchedule())
    with pytest.raises(PurchaseError):
        make_quote("Shop", Money(99), 3, TODAY, FeeSchedule())


@given(st.integers(100, 10**9), st.sampled_from([1, 3, 6, 12]), st.integers(0, 3000))
def test_schedule_adds_back_exactly(principal, plan, bp):
    fees = FeeSchedule({1: bp, 12: bp})
    quote = make_quote("Shop", Money(principal), plan, TODAY, fees)
    assert sum(i.principal.fen for i in quote.instalments) == principal
    assert sum(i.amount.fen for i in quote.instalments) == quote.total.fen
    assert len(quote.instalments) == plan
    amounts = [i.amount.fen for i in quote.instalments]
    assert max(amounts) - min(amounts) <= 2
