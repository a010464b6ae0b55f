"""Ledger invariants 1-4 of DESIGN.md, checked against what is stored (not what we meant),
on either engine (``book``: a SQLite file or an open database, tests.support.dbcheck)."""

from __future__ import annotations

from tests.support.dbcheck import is_postgres, q


def assert_ledger_invariants(book) -> None:
    # 1. Every entry balances.
    unbalanced = q(book,
        "SELECT transfer_id, SUM(amount) FROM postings GROUP BY transfer_id"
        " HAVING SUM(amount) != 0")
    assert unbalanced == [], f"unbalanced transfers: {unbalanced}"
    legs_vs_postings = q(book,
        f"SELECT t.id FROM transfers t WHERE {_legs_count(book)}"
        " != (SELECT COUNT(*) FROM postings p WHERE p.transfer_id = t.id)")
    assert legs_vs_postings == [], f"transfers whose postings differ: {legs_vs_postings}"
    # 2. Balances sum to zero and each cached balance is the sum of its postings.
    ((total,),) = q(book, "SELECT COALESCE(SUM(balance), 0) FROM accounts")
    assert total == 0, f"balances sum to {total}"
    drift = q(book,
        "SELECT a.id, a.balance, COALESCE(SUM(p.amount), 0) FROM accounts a"
        " LEFT JOIN postings p ON p.account_id = a.id GROUP BY a.id"
        " HAVING a.balance != COALESCE(SUM(p.amount), 0)")
    assert drift == [], f"cached balances differ from postings: {drift}"
    # 3. No account outside its limits.
    broken = q(book,
        "SELECT id, balance FROM accounts WHERE (min_balance IS NOT NULL AND balance <"
        " min_balance) OR (max_balance IS NOT NULL AND balance > max_balance)")
    assert broken == [], f"accounts past their limits: {broken}"
    # 4. One key, one transfer (the UNIQUE index says so; check the data too).
    dupes = q(book,
        "SELECT idem_key FROM transfers GROUP BY idem_key HAVING COUNT(*) > 1")
    assert dupes == []


def assert_receivables_match(book) -> None:
    """Invariant 5: what each borrower owes equals what is left of their unpaid instalments,
    and no instalment was paid more than its amount."""
    owed = {code: -balance for code, balance in q(book,
        "SELECT code, balance FROM accounts WHERE kind = 'receivable'") if balance}
    left = {f"receivable:{b}": total for b, total in q(book,
        "SELECT b.borrower_id, SUM(i.principal + i.fee - i.paid_amount) FROM instalments i"
        " JOIN bills b ON b.id = i.bill_id WHERE i.status = 'unpaid'"
        " GROUP BY b.borrower_id") if total}
    assert owed == left, (owed, left)
    over = q(book,
        "SELECT i.id FROM instalments i WHERE i.paid_amount != (SELECT COALESCE(SUM(amount),"
        " 0) FROM instalment_payments p WHERE p.instalment_id = i.id)"
        " OR (i.status = 'paid') != (i.paid_amount = i.principal + i.fee)")
    assert over == [], f"instalments whose payments do not add up: {over}"


def assert_book_totals_match(book) -> None:
    """The totals triggers keep equal what a count of the book gives now."""
    totals = dict(q(book, "SELECT name, SUM(value) FROM book_totals GROUP BY name"))
    fresh = {
        "transfers": "SELECT COUNT(*) FROM transfers",
        "users": "SELECT COUNT(*) FROM users WHERE display_name != ''",
        "active_agreements": "SELECT COUNT(*) FROM agreements WHERE status = 'active'",
        "covered_fen": "SELECT COALESCE(SUM(amount), 0) FROM agreement_instalments"
                       " WHERE status = 'covered'",
        "outstanding_fen": "SELECT COALESCE(SUM(principal + fee - paid_amount), 0)"
                           " FROM instalments WHERE status = 'unpaid'",
        **{f"outbox:{s}": f"SELECT COUNT(*) FROM outbox WHERE status = '{s}'"
           for s in ("pending", "sent", "blocked", "failed")},
        **{f"debits:{k}": f"SELECT COUNT(*) FROM events WHERE kind = 'debit.{k}'"
           for k in ("succeeded", "failed", "defaulted")},
    }
    assert {name: q(book, sql)[0][0] for name, sql in fresh.items()} == totals
    exposure = dict(q(book,
        "SELECT a.friend_id, SUM(ai.amount) FROM agreement_instalments ai JOIN agreements a"
        " ON a.id = ai.agreement_id WHERE ai.status = 'covered' GROUP BY a.friend_id"))
    kept = {f: fen for f, fen in q(book, "SELECT friend_id, fen FROM friend_exposure")
            if fen}
    assert kept == exposure


def _legs_count(target) -> str:
    return ("jsonb_array_length(t.legs)" if is_postgres(target)
            else "(SELECT COUNT(*) FROM json_each(t.legs))")
