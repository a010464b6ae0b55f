"""Daily servicing on a real SQLite file: debits, retries, default, overdue, completion,
reminders, idempotent re-runs."""

from datetime import date, datetime, time, timedelta

from core.events import Event
from core.money import Money
from core.services.servicing import run_servicing
from core.services.wallet import repay_from_wallet
from tests.support.dbcheck import json_int, q
from tests.support.ledger_checks import (
    assert_book_totals_match,
    assert_ledger_invariants,
    assert_receivables_match,
)
from tests.support.servicing_book import covered_bill, fund, person, standard_book
from tests.support.servicing_flows import DUE1, POLICY, TZ, serve, state


async def test_due_date_debits_and_failures(db, uow, clock):
    await standard_book(uow)
    counts = await serve(uow, clock, DUE1)
    assert (counts.debited, counts.failed, counts.defaulted) == (3, 1, 0)
    parts = dict(((a, i), (s, n)) for a, i, s, n in q(
        db, "SELECT agreement_id, instalment_id, status, next_attempt_on"
                 " FROM agreement_instalments WHERE instalment_id IN (1, 4, 7, 10)"))
    assert parts[(1, 1)] == ("paid", None)
    assert parts[(2, 4)] == ("covered", "2026-12-30")  # retry D+1
    assert parts[(3, 7)] == ("paid", None)
    assert parts[(4, 10)] == ("paid", None)
    # Borrower 4's instalment is half paid by the friend; the rest is the borrower's.
    assert q(db, "SELECT status, paid_amount FROM instalments WHERE id = 10") == [
        ("unpaid", 5000)]
    assert_ledger_invariants(db)
    assert_receivables_match(db)
    kinds = q(db, "SELECT recipient_id, kind, urgent FROM outbox WHERE kind LIKE 'debit%'"
                       " ORDER BY recipient_id, kind")
    assert (2, "debit_failed", 1) in kinds and (12, "debit_failed", 1) in kinds
    assert (1, "debit_ok", 0) in kinds and (11, "debit_ok", 0) in kinds


async def test_retries_then_default_liability(db, uow, clock):
    await standard_book(uow)
    await serve(uow, clock, DUE1)
    await serve(uow, clock, DUE1 + timedelta(days=1))
    assert q(db, "SELECT attempts, next_attempt_on FROM agreement_instalments"
                      " WHERE instalment_id = 4") == [(2, "2027-01-01")]
    await serve(uow, clock, DUE1 + timedelta(days=2))  # not a retry day: nothing happens
    assert q(db, "SELECT attempts FROM agreement_instalments WHERE instalment_id = 4") == [
        (2,)]
    counts = await serve(uow, clock, DUE1 + timedelta(days=3))
    assert counts.defaulted == 1
    assert_book_totals_match(db)
    assert q(db, "SELECT instalment_id, status FROM agreement_instalments"
                      " WHERE agreement_id = 2 ORDER BY 1") == [
        (4, "defaulted"), (5, "returned"), (6, "returned")]
    assert q(db, "SELECT status FROM agreements WHERE id = 2") == [("defaulted",)]
    assert q(db, "SELECT status, overdue_since FROM instalments WHERE id = 4") == [
        ("unpaid", "2026-12-30")]
    assert q(db, "SELECT recipient_id FROM outbox WHERE kind = 'debit_default'"
                      " ORDER BY 1") == [(2,), (12,)]
    # The friend's record carries the default: their next capacity review declines.
    async with uow() as tx:
        defaults = (await tx.cover.friend_position(12, DUE1)).past_defaults
    assert defaults == 1
    assert_ledger_invariants(db)
    assert_receivables_match(db)


async def test_retry_succeeds_after_top_up(db, uow, clock):
    await standard_book(uow)
    await serve(uow, clock, DUE1)
    await fund(uow, 12, 100, "late")
    counts = await serve(uow, clock, DUE1 + timedelta(days=1))
    assert (counts.debited, counts.retried) == (1, 1)
    assert q(db, "SELECT status FROM agreement_instalments WHERE instalment_id = 4") == [
        ("paid",)]
    assert q(db, "SELECT idem_key FROM transfers WHERE kind = 'debit' AND idem_key"
                      " LIKE 'debit:2:4:%'") == [("debit:2:4:1",)]


async def test_rerun_changes_nothing_and_sends_nothing_new(db, uow, clock):
    await standard_book(uow)
    await serve(uow, clock, DUE1)
    before = state(db)
    again = await serve(uow, clock, DUE1)
    assert again.already_finished
    assert (again.debited, again.failed, again.reminders_planned) == (0, 0, 0)
    assert state(db) == before
    for day in (DUE1 + timedelta(days=1), DUE1 + timedelta(days=3)):
        await serve(uow, clock, day)  # later dates move the book on (a default, at D+3)...
    later = state(db)
    assert (await serve(uow, clock, DUE1)).already_finished  # ...and D still plans nothing
    assert state(db) == later


async def test_completion_and_terminated_parts(db, uow, clock):
    await standard_book(uow)
    for month in range(3):  # all three due dates of borrower 1, funded in full
        day = [DUE1, date(2027, 1, 29), date(2027, 2, 28)][month]
        await serve(uow, clock, day)
    assert q(db, "SELECT status FROM agreements WHERE id = 1") == [("completed",)]
    assert q(db, "SELECT kind FROM outbox WHERE recipient_id = 11 AND kind ="
                      " 'agreement_completed'") == [("agreement_completed",)]
    # Borrower 4 pays their own half of the first instalment: it is then paid in full.
    await repay_from_wallet(uow, user_id=4, instalment_id=10, confirmed=Money(5000),
                            today=DUE1)
    assert q(db, "SELECT status, paid_amount FROM instalments WHERE id = 10") == [
        ("paid", 10000)]
    assert_receivables_match(db)


async def test_reminders_go_to_the_payer_and_wait_for_quiet_hours(db, uow, clock):
    await person(uow, 5, date(1991, 5, 5))
    await person(uow, 15, date(1981, 5, 5))
    await covered_bill(uow, 5, 15, share=5_000)
    counts = await serve(uow, clock, DUE1 - timedelta(days=3))
    assert counts.reminders_planned == 2
    rows = q(db, "SELECT recipient_id, kind, params, not_before FROM outbox"
                      " WHERE kind LIKE 'reminder%' ORDER BY 1")
    assert [(r, k) for r, k, _, _ in rows] == [(5, "reminder_due"), (15, "reminder_due")]
    assert all('"amount": 5000' in p and '"days": 3' in p for _, _, p, _ in rows)
    # Planned at 06:00 in Shanghai, inside 22:00-08:00: held until 08:00 local (00:00 UTC).
    assert {nb for *_, nb in rows} == {"2026-12-26T00:00:00.000000+00:00"}
    await serve(uow, clock, DUE1 - timedelta(days=2))  # no reminder day
    assert q(db, "SELECT COUNT(*) FROM outbox WHERE kind LIKE 'reminder%'") == [(2,)]
    for d in (1, 0):
        await serve(uow, clock, DUE1 - timedelta(days=d))
    for d in (1, 2, 3, 7):
        await serve(uow, clock, DUE1 + timedelta(days=d))
    kinds = q(db, f"SELECT recipient_id, kind, {json_int(db, 'params', 'days')} FROM outbox"
                       " WHERE kind LIKE 'reminder%' ORDER BY 1, 2, 3")
    # The friend gets no D0 reminder: the debit's own notice comes first. D+1 and D+3 are
    # retry days: the failed debit's notice, which says it is overdue, is the one push to
    # each; at D+3 the part defaulted, so D+7 is the borrower's alone.
    assert kinds == [(5, "reminder_due", 0), (5, "reminder_due", 1), (5, "reminder_due", 3),
                     (5, "reminder_overdue", 7),
                     (15, "reminder_due", 1), (15, "reminder_due", 3)]


async def test_dates_caught_up_late_plan_no_stale_reminders(db, uow, clock):
    """The bot was down from D-3 to D: the runs for D-3 and D-1 happen on D and must not say
    "due in 3 days"; D's own run still reminds the borrower of her part (the friend's part
    was debited in that run, and its notice tells him)."""
    await person(uow, 5, date(1991, 5, 5))
    await person(uow, 15, date(1981, 5, 5))
    await covered_bill(uow, 5, 15, share=5_000)
    clock.set(datetime.combine(DUE1, time(9, 0), tzinfo=TZ))
    for d in (3, 2, 1, 0):
        await run_servicing(uow, clock, TZ, POLICY, DUE1 - timedelta(days=d))
    assert q(db, f"SELECT recipient_id, {json_int(db, 'params', 'days')} FROM outbox"
                      " WHERE kind LIKE 'reminder%' ORDER BY 1") == [(5, 0)]


async def test_termination_effects_on_debits(db, uow, clock):
    from core.services import cover
    from core.services.cover import CoverConfig

    await person(uow, 6, date(1992, 6, 6))
    await person(uow, 16, date(1982, 6, 6))
    await covered_bill(uow, 6, 16)
    await fund(uow, 16, 1000, "f16")
    # The friend ends it on the first due date: that instalment stays theirs, the rest
    # return to the borrower.
    done = await cover.terminate(uow, CoverConfig(), agreement_id=1, user_id=16, today=DUE1)
    assert len(done.kept) == 1 and len(done.returned) == 2
    for day in (DUE1, date(2027, 1, 29)):
        await serve(uow, clock, day)
    assert q(db, "SELECT instalment_id, status FROM agreement_instalments ORDER BY 1") == [
        (1, "paid"), (2, "returned"), (3, "returned")]
    assert q(db, "SELECT id, status, paid_amount FROM instalments ORDER BY id") == [
        (1, "paid", 10000), (2, "unpaid", 0), (3, "unpaid", 0)]
    assert q(db, "SELECT COUNT(*) FROM transfers WHERE kind = 'debit'") == [(1,)]
    # The borrower is reminded of what is theirs again; the friend is not.
    assert q(db, "SELECT DISTINCT recipient_id FROM outbox WHERE kind = 'reminder_due'"
                      f" AND {json_int(db, 'params', 'instalment')} = 2") == [(6,)]
    assert_ledger_invariants(db)
    assert_receivables_match(db)


async def test_a_retry_day_sends_each_party_one_push_about_the_instalment(db, uow, clock):
    """Friend 12 cannot pay instalment 4. On each retry day the failed debit's notice is
    the one push to the friend and to the borrower: it says the instalment is overdue too,
    and the day's overdue reminder is not sent on top of it."""
    from bot.context import Speaker
    from bot.i18n import Texts
    from bot.notices import render
    from core.outbox import OutboxMessage
    from core.users import Language

    await standard_book(uow)
    for offset in (0, 1, 3, 7):
        await serve(uow, clock, DUE1 + timedelta(days=offset))
    pushes = q(db, "SELECT recipient_id, kind FROM outbox"
                        f" WHERE {json_int(db, 'params', 'instalment')} = 4 ORDER BY id")
    by_day: dict[int, list[str]] = {}
    for recipient, kind in pushes:
        by_day.setdefault(recipient, []).append(kind)
    assert by_day[12] == ["debit_failed", "debit_failed", "debit_default"]
    # The borrower: one push on each retry day, then the D+7 overdue notice (no friend
    # part is left after the default, so nobody else is told that day).
    assert by_day[2] == ["debit_failed", "debit_failed", "debit_default", "reminder_overdue"]
    (params,), = q(db, "SELECT params FROM outbox WHERE recipient_id = 12"
                            " AND kind = 'debit_failed' AND key LIKE '%:debit_failed:1'")
    import json

    say = Speaker(Texts.load(), Language.EN)
    text, _ = render(OutboxMessage(1, "k", 12, "debit_failed", json.loads(params), True, 0), say)
    assert "I will try again on 1 Jan 2027" in text and "It is now 1 day(s) overdue." in text
    (params,), = q(db, "SELECT params FROM outbox WHERE recipient_id = 2"
                            " AND kind = 'debit_failed' AND key LIKE '%:debit_failed:1'")
    text, _ = render(OutboxMessage(1, "k", 2, "debit_failed", json.loads(params), True, 0), say)
    assert "Shop2 1/3 is 1 day(s) overdue: ¥100.00 still unpaid." in text


async def test_a_failing_rule_or_report_does_not_hold_servicing_back(db, uow, clock, caplog):
    """What runs at the end of a date (the rules, the report) runs in the transaction that
    finishes it; if it fails, its writes are undone and the date still finishes."""
    import logging

    await standard_book(uow)

    async def broken(tx):
        await tx.events.append(Event("system", "user:1", "test.half_written", {}, parties=(1,)))
        raise RuntimeError("a rule with a bug")

    clock.set(datetime.combine(DUE1, time(6, 0), tzinfo=TZ))
    with caplog.at_level(logging.ERROR):
        counts = await run_servicing(uow, clock, TZ, POLICY, DUE1, finish=broken)
    assert counts.debited == 3
    assert q(db, "SELECT finished_at IS NOT NULL FROM servicing_runs") == [(1,)]
    assert q(db, "SELECT COUNT(*) FROM events WHERE kind = 'test.half_written'") == [(0,)]
    assert any("risk rules or the daily report failed" in r.getMessage() for r in caplog.records)
