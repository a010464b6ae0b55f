"""Every kind of notice the core can plan has its words and buttons in bot/notices.py, in
both languages, from the facts the core gives it (ids, amounts, dates, the acting party)."""

from __future__ import annotations

import re

import pytest

from bot.context import Speaker
from bot.i18n import Texts
from bot.notices import RENDERINGS, render
from core.outbox import NoticeKind, OutboxMessage, Party
from core.users import Language

INSTALMENT = {"instalment": 7, "merchant": "京东 JD", "seq": 2, "of": 3, "due": "2026-12-29",
              "amount": 12345}
# What the core plans for each kind (core/services); a new kind needs its facts here.
FACTS: dict[NoticeKind, list[dict]] = {
    NoticeKind.INVITED: [{"id": 4, "party": 1}],
    NoticeKind.OPENED: [{"id": 4, "party": 2}],
    NoticeKind.ACCEPTED: [{"id": 4, "party": 2}],
    NoticeKind.DECLINED: [{"id": 4, "party": 2}],
    NoticeKind.DECLINED_BY_REVIEW: [{"id": 4, "party": 2}],
    NoticeKind.CANCELLED: [{"id": 4, "party": 1}],
    NoticeKind.REVOKED: [{"id": 4, "party": 1}],
    NoticeKind.EXPIRED: [{"id": 4}],
    NoticeKind.SIGNED: [{"id": 4, "party": 2, "agreement": 9, "total": 30000}],
    NoticeKind.ENDED_BY_FRIEND: [{"id": 9, "party": 2, "returned": 2, "kept": 1}],
    NoticeKind.ENDED_BY_BORROWER: [{"id": 9, "party": 1, "returned": 2, "kept": 1}],
    NoticeKind.TOPPED_UP: [{"amount": 50000, "balance": 80000}],
    NoticeKind.DEBIT_OK: [{**INSTALMENT, "role": r, "late": 2, "unpaid": 100} for r in Party],
    NoticeKind.DEBIT_FAILED: [{**INSTALMENT, "role": r, "next": "2026-12-31", "late": 1,
                               "unpaid": 100} for r in Party],
    NoticeKind.DEBIT_DEFAULT: [{**INSTALMENT, "role": r, "returned": 1} for r in Party],
    NoticeKind.REMINDER_DUE: [{**INSTALMENT, "role": r, "days": d} for r in Party
                              for d in (0, 1, 3)],
    NoticeKind.REMINDER_OVERDUE: [{**INSTALMENT, "role": r, "days": 3} for r in Party],
    NoticeKind.AGREEMENT_COMPLETED: [{"agreement": 9}],
    NoticeKind.ALERT: [{"id": 3, "rule": "many_borrowers", "severity": "high",
                        "subject": "user:5", "evidence": {"friends": 6}}],
    NoticeKind.DAILY_REPORT: [{"date": "2026-12-29", "counts": {"debited": 1, "failed": 0,
                                                                "defaulted": 0},
                               "stats": {"open_alerts": 1, "overdue_1-30": 100,
                                         "overdue_31-60": 0, "overdue_61-90": 0,
                                         "overdue_90+": 0},
                               "debits": [], "overdue": []}],
    NoticeKind.DAILY_NETWORK: [{"top": [["Jane", 50000, 2500]], "groups": [[3, 90000, 4500]]}],
}


def test_every_kind_has_a_rendering_and_facts_to_try_it_with():
    assert set(RENDERINGS) == set(NoticeKind)
    assert set(FACTS) == set(NoticeKind)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_each_kind_reads_in_each_language(kind, language):
    say = Speaker(Texts.load(), language)
    unknown = say("servicing.unknown_notice")
    for facts in FACTS[kind]:
        text, _ = render(OutboxMessage(1, "k", 5, kind.value, facts, True, 0), say,
                         name="Jane (J*** S****)" if "party" in facts else None)
        assert text and text != unknown
        assert not re.search(r"\{[a-z_]+\}", text), text  # every placeholder filled
        if "party" in facts:  # who acted is named
            assert "Jane (J*** S****)" in text
        if "amount" in facts and kind is not NoticeKind.DAILY_REPORT:
            assert "123.45" in text or "500.00" in text


def test_the_kind_decides_the_buttons():
    say = Speaker(Texts.load(), Language.EN)

    def buttons(kind: NoticeKind, facts: dict) -> list[str]:
        _, markup = render(OutboxMessage(1, "k", 5, kind.value, facts, True, 0), say, "Ann")
        return [b.callback_data for row in (markup.inline_keyboard if markup else ())
                for b in row]

    assert buttons(NoticeKind.INVITED, {"id": 4, "party": 1}) == ["fr:v:4"]
    assert buttons(NoticeKind.ACCEPTED, {"id": 4, "party": 2}) == ["cv:x:4"]
    assert buttons(NoticeKind.OPENED, {"id": 4, "party": 2}) == []
    assert buttons(NoticeKind.DEBIT_OK, {**INSTALMENT, "role": "friend"}) == ["wallet"]
    assert buttons(NoticeKind.DEBIT_OK, {**INSTALMENT, "role": "borrower"}) == ["bills:0"]


def test_a_row_an_older_version_planned_still_reads():
    """Rows planned before notices were facts carry the name and rendering hints."""
    say = Speaker(Texts.load(), Language.EN)
    text, _ = render(OutboxMessage(
        1, "k", 5, "notify.signed", {"name": "Bob", "id": 4, "agreement": 9, "total": 30000,
                                     "_money": ["total"]}, True, 0), say)
    assert "Bob" in text and "300.00" in text
    text, markup = render(OutboxMessage(  # an invitation kept its id only in its button
        1, "k", 5, "invite.push", {"name": "Jane", "_button": ["view", 4]}, True, 0), say)
    assert "Jane" in text and markup.inline_keyboard[0][0].callback_data == "fr:v:4"
    assert render(OutboxMessage(1, "k", 5, "no_such_kind", {}, True, 0), say) == (
        say("servicing.unknown_notice"), None)
