"""Each risk rule fires just past its threshold and not at it."""

from core import risk
from core.money import Money
from core.network import connected_groups, top_friends
from core.risk import RiskPolicy, Severity

POLICY = RiskPolicy(overdue_days=30, exposure_cap=Money.yuan(100), max_borrowers_per_friend=2,
                    burst_invitations=3, debit_failures=3, new_account_days=7,
                    large_purchase=Money.yuan(5000))


def test_overdue_beyond_n_days():
    found = risk.overdue([(1, 9, 30, 100), (2, 9, 31, 100), (3, 9, 91, 100)], POLICY)
    assert [f.key for f in found] == ["overdue:instalment:2", "overdue:instalment:3"]
    assert [f.severity for f in found] == [Severity.MEDIUM, Severity.HIGH]


def test_exposure_over_cap():
    found = risk.exposure([(5, 10_000), (6, 10_001)], POLICY)
    assert [f.subject for f in found] == ["user:6"]


def test_many_borrowers():
    assert [f.subject for f in risk.many_borrowers([(5, 2), (6, 3)], POLICY)] == ["user:6"]


def test_circular_cover_of_any_length():
    assert risk.circular([(1, 2), (2, 3)]) == []  # a chain is no cycle
    (two,) = risk.circular([(1, 2), (2, 1), (3, 4)])
    assert two.evidence["users"] == [1, 2] and two.key == "circular:1,2"
    (long,) = risk.circular([(1, 2), (2, 3), (3, 4), (4, 1), (4, 5)])
    assert long.evidence["users"] == [1, 2, 3, 4]
    chain = [(i, i + 1) for i in range(5000)] + [(5000, 0)]  # deep, no recursion limit
    (big,) = risk.circular(chain)
    assert len(big.evidence["users"]) == 5001


def test_bursts_debit_failures_identity_and_new_accounts():
    assert [f.subject for f in risk.bursts([(1, 2, "t"), (2, 3, "t")], POLICY)] == ["user:2"]
    assert [f.subject for f in risk.debit_failures([(1, 2), (2, 3)], POLICY)] == ["user:2"]
    (same,) = risk.shared_identity([(7, "identity.duplicate_refused", 3)])
    assert same.severity is Severity.HIGH and same.evidence["other_user"] == 3
    found = risk.new_account_large([(1, 10, 6, 500_000, 20), (2, 11, 7, 500_000, 21),
                                    (3, 12, 1, 499_999, 22)], POLICY)
    assert [(f.evidence["request"], f.evidence["borrower"]) for f in found] == [(1, 20)]
    # Whom each alert concerns: the person it is about and everyone its evidence names.
    from core.services.risk import people_named

    assert people_named(same.subject, same.evidence) == (3, 7)
    assert people_named(found[0].subject, found[0].evidence) == (10, 20)


def test_network_groups_and_top_friends():
    groups = connected_groups([(1, 2), (2, 3), (4, 5)], {1: 300, 2: 100, 4: 600})
    assert groups[0].members == (1, 2, 3) and groups[0].exposure == 400
    assert groups[0].share_bp == 4000 and groups[1].share_bp == 6000
    assert top_friends({1: 300, 2: 100, 4: 600}, top=2) == [(4, 600, 6000), (1, 300, 3000)]
