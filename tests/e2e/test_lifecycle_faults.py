"""The whole lifecycle twice through the real bot: once on a clean line to Telegram, once
with a fifth of all Bot API calls failing (429 with retry_after, 500, timeouts, dropped
connections). The book comes out identical apart from timestamps, message ids and random
invitation secrets, and every person saw exactly the same messages, none lost or twice."""

from __future__ import annotations

from collections import Counter

from tests.support.dbcheck import q
from tests.support.ledger_checks import (
    assert_book_totals_match,
    assert_ledger_invariants,
    assert_receivables_match,
)
from tests.support.lifecycle import (
    BO,
    JANE,
    LI,
    OLGA,
    concerned,
    script,
)
from tests.support.lifecycle_faults import faults
from tests.support.lifecycle_runs import live


async def test_the_lifecycle_under_faults_ends_as_it_does_on_a_clean_line(tmp_path):
    clean_book, clean_seen = await live(tmp_path / "clean")
    injected: Counter = Counter()
    faulty_book, faulty_seen = await live(tmp_path / "faulty", faults(11, injected))

    assert set(injected) == {"429", "500", "timeout", "drop"} and sum(injected.values()) > 40
    for table in clean_book:
        assert faulty_book[table] == clean_book[table], table
    assert faulty_seen == clean_seen  # nobody missed a message or saw one twice
    assert not any("went wrong" in text for _, _, text, _ in clean_seen)
    for db in (tmp_path / "clean" / "bot.db", tmp_path / "faulty" / "bot.db"):
        assert_ledger_invariants(db)
        assert_receivables_match(db)
        assert_book_totals_match(db)
    # The story happened: a debit paid at once, one paid on retry, one defaulted, an early
    # end, the borrower's own payment, an alert and one daily report per servicing step.
    events = Counter(kind for (kind,) in q(tmp_path / "clean" / "bot.db",
                                           "SELECT kind FROM events"))
    assert events["debit.succeeded"] == 2 and events["debit.failed"] == 3
    assert events["debit.defaulted"] == 1 and events["agreement.terminated"] == 1
    assert events["instalment.payment"] == 1 and events["alert.raised"] == 1
    photos = [text for kind, chat, text, _ in clean_seen.elements() if kind == "photo"]
    assert len(photos) == sum(step.name.startswith("servicing") for step in script())
    await each_persons_export_is_what_concerns_them(tmp_path / "clean" / "bot.db")


async def test_the_lifecycle_on_postgresql_ends_as_it_does_on_sqlite(tmp_path, postgres_url):
    """The same people doing the same things get the same book and the same messages on
    either engine: every table, row for row (timestamps and random secrets aside). The bot
    is given an empty database, as a new deployment is, and migrates it itself."""
    on_sqlite = await live(tmp_path / "sqlite", rank_transfers=True)
    on_postgres = await live(tmp_path / "postgres", database_url=postgres_url,
                             rank_transfers=True)

    assert on_postgres[0].keys() == on_sqlite[0].keys()
    for table in on_sqlite[0]:
        assert on_postgres[0][table] == on_sqlite[0][table], table
    assert on_postgres[1] == on_sqlite[1]
    assert_ledger_invariants(postgres_url)
    assert_receivables_match(postgres_url)
    assert_book_totals_match(postgres_url)
    await each_persons_export_is_what_concerns_them(postgres_url)


async def each_persons_export_is_what_concerns_them(book) -> None:
    """The audit export by person: every debit, failure and default names the friend and
    the borrower, every request event its borrower; nothing about others slips in."""
    from storage.engine import book_for
    from storage.events import export

    expected = concerned(book)
    assert set(expected) >= {JANE, LI, BO}
    async with book_for(book) as db:
        for person in {*expected, OLGA}:  # the operator only watched: nothing is about her
            events = expected.get(person, set())
            got = {e.id async for e in export(db.reader, "2000", "3000", person, page=7)}
            assert got == events, (person, sorted(got ^ events)[:10])
    nobody = q(book, "SELECT kind FROM events WHERE parties = '[]'")
    assert nobody == []  # no event concerns nobody
    kinds = {kind for (kind,) in q(book,
        "SELECT e.kind FROM events e JOIN event_parties p ON p.event_id = e.id"
        " WHERE p.user_id = ?", LI)}
    assert {"debit.succeeded", "debit.failed", "debit.defaulted"} <= kinds
