"""Cover request state machine, shares, tokens and the capacity review: pure domain."""

from datetime import UTC, date, datetime, timedelta

import pytest

from core.agreement import AgreementTerms, fingerprint, render, share_text
from core.capacity import CapacityPolicy, Decision, FriendPosition, review
from core.cover import (
    CoverRequest,
    CoverStatus,
    IllegalTransition,
    InviteTokens,
    Route,
    friend_part,
    token_from_payload,
)
from core.money import Money
from core.users import Language

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def request(status=CoverStatus.PENDING, friend_id=None):
    return CoverRequest(1, 10, 5, (1, 2), 10_000, Route.LINK, friend_id, status, NOW,
                        NOW + timedelta(hours=48), "salt")


ALL = ["open", "accept", "sign", "decline", "cancel", "revoke", "expire"]
LEGAL = {
    CoverStatus.PENDING: {"open", "accept", "decline", "cancel", "expire"},
    CoverStatus.OPENED: {"accept", "decline", "cancel", "expire"},
    CoverStatus.ACCEPTED: {"sign", "decline", "revoke", "expire"},
}


@pytest.mark.parametrize("status", list(CoverStatus))
@pytest.mark.parametrize("action", ALL)
def test_transition_table(status, action):
    allowed = action in LEGAL.get(status, set())
    if allowed:
        assert request(status).transition(action).status is not status
    else:
        with pytest.raises(IllegalTransition):
            request(status).transition(action)


def test_who_may_take():
    open_link = request()
    assert not open_link.may_be_taken_by(10)  # the borrower
    assert open_link.may_be_taken_by(11) and open_link.may_be_taken_by(12)
    bound = request(CoverStatus.ACCEPTED, friend_id=11)
    assert bound.may_be_taken_by(11) and not bound.may_be_taken_by(12)


def test_friend_part_rounds_down_and_never_exceeds():
    assert friend_part(Money(10001), 5000) == Money(5000)
    assert friend_part(Money(10001), 10_000) == Money(10001)
    parts = [friend_part(Money(9999), s) for s in (3333, 3333, 3334)]
    assert sum(p.fen for p in parts) <= 9999
    with pytest.raises(ValueError):
        friend_part(Money(1), 0)


def test_tokens_are_long_reproducible_and_stored_hashed():
    tokens = InviteTokens(b"k" * 32)
    salt = tokens.new_salt()
    token = tokens.token(salt)
    assert len(token) == 32 and token == tokens.token(salt)
    assert token != InviteTokens(b"j" * 32).token(salt)
    assert token not in tokens.digest(token)
    assert token_from_payload(tokens.payload(salt)) == token
    for bad in ["", "c_", "c_short", "x_" + token, "c_" + token + "A", "c_" + "!" * 32]:
        assert token_from_payload(bad) is None


POSITION = FriendPosition(monthly={}, active_agreements=0, exposure=Money(0), overdue_own=0,
                          past_defaults=0)
DUES = [(date(2026, 12, 29), Money.yuan(1000)), (date(2027, 1, 29), Money.yuan(1000))]


def test_review_approves_within_half_of_income():
    outcome = review(instalments=DUES, share_bp=10_000, income=Money.yuan(2000),
                     position=POSITION, policy=CapacityPolicy())
    assert outcome.decision is Decision.APPROVE and outcome.share_bp == 10_000


def test_review_offers_a_smaller_share():
    outcome = review(instalments=DUES, share_bp=10_000, income=Money.yuan(1500),
                     position=POSITION, policy=CapacityPolicy())
    assert outcome.decision is Decision.REDUCE and outcome.share_bp == 7500
    assert outcome.reasons[0].code == "monthly_over"


def test_review_declines_with_reasons():
    outcome = review(instalments=DUES, share_bp=10_000, income=Money.yuan(150),
                     position=POSITION, policy=CapacityPolicy())
    assert outcome.decision is Decision.DECLINE and outcome.share_bp == 0
    busy = FriendPosition({}, 3, Money(0), 1, 0)
    outcome = review(instalments=DUES, share_bp=10_000, income=Money.yuan(99999),
                     position=busy, policy=CapacityPolicy())
    assert {r.code for r in outcome.reasons} == {"own_overdue", "too_many_agreements"}


def test_review_counts_existing_commitments_by_month_and_exposure_cap():
    loaded = FriendPosition({(2026, 12): Money.yuan(600)}, 0, Money(0), 0, 0)
    outcome = review(instalments=DUES, share_bp=10_000, income=Money.yuan(3000),
                     position=loaded, policy=CapacityPolicy())
    assert outcome.decision is Decision.REDUCE  # December: 600 + 1000 > 1500
    capped = review(instalments=DUES, share_bp=10_000, income=Money.yuan(100000),
                    position=POSITION, policy=CapacityPolicy(exposure_cap=Money.yuan(1500)))
    assert capped.decision is Decision.REDUCE and capped.share_bp == 7500


def terms(**changes):
    base = dict(borrower_name="张*", borrower_id_mask="1101**********1234", friend_name="李*",
                friend_id_mask="3101**********5678", merchant="京东", purchased_on="2026-11-29",
                principal=Money.yuan(300), share_bp=10_000,
                parts=((1, 3, "2026-12-29", Money.yuan(100)),), retry_days="1/3", notice_days=3)
    return AgreementTerms(**(base | changes))


def test_agreement_renders_in_both_languages_with_a_stable_hash():
    zh, en = render(terms(), Language.ZH), render(terms(), Language.EN)
    assert "代还人承担以下每期的 100%，合计 ¥100.00" in zh.text
    assert "The friend covers 100% of each instalment below, ¥100.00 in all" in en.text
    assert zh.sha256 == fingerprint(zh.text) == render(terms(), Language.ZH).sha256
    assert render(terms(share_bp=5000), Language.ZH).sha256 != zh.sha256
    assert share_text(3333) == "33.33%" and share_text(2550) == "25.5%"
