"""What runs on a schedule costs what is due, not what the book holds: every statement that
servicing, the risk rules, the daily report, the outbox, request expiry, /ops and the health
page run against a populated book is caught as it executes, and its plan may neither scan a
table that grows with the book nor sort rows into a temporary B-tree for an ORDER BY.
Deterministic, unlike timings (bench/servicing.py measures those)."""

from __future__ import annotations

import re
import sqlite3

import pytest

from bench.servicing import build
from storage.db import Database
from storage.uow import StorageUnitOfWorkFactory
from tests.support.scheduled_work import GROWING, clock_for_the_book, run_scheduled_work

# Columns on which one value holds most of a table: unpaid instalments are every future one,
# covered parts every future friend's part, and a kind of event is all of its history. A
# search on that column alone is a scan by another name. (Open alerts, active agreements,
# pending notices and open requests are what is at hand, not the book.)
WHOLE_BOOK_BY = {"instalments": "status", "agreement_instalments": "status", "events": "kind"}

_KEYWORDS = {"ON", "WHERE", "JOIN", "LEFT", "INNER", "GROUP", "ORDER", "LIMIT", "USING", "AND",
             "SET", "VALUES", "RETURNING", "UNION", "AS", "SELECT"}


def tables_named(statement: str) -> dict[str, str]:
    """Each name a plan may show for a table (its alias, or itself) → the table."""
    names = {}
    for table, alias in re.findall(r"(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?",
                                   statement, re.IGNORECASE):
        names[table] = table
        if alias and alias.upper() not in _KEYWORDS:
            names[alias] = table
    return names


def offenders(conn: sqlite3.Connection, statement: str) -> list[str]:
    plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
    names = tables_named(statement)
    bad = []
    for step in plan:
        scanned = re.match(r"SCAN (\w+)", step)
        if scanned and names.get(scanned.group(1), scanned.group(1)) in GROWING:
            bad.append(step)
        # A search on nothing but a status of a table whose live rows are most of the book
        # ("every unpaid instalment", "every covered part") is a scan by another name.
        searched = re.match(r"SEARCH (\w+) USING .*INDEX \w+ \((\w+)=\?\)$", step)
        if searched and WHOLE_BOOK_BY.get(names.get(searched.group(1), searched.group(1))) \
                == searched.group(2):
            bad.append(step)
        if "TEMP B-TREE FOR ORDER BY" in step or "TEMP B-TREE FOR RIGHT PART OF ORDER BY" in step:
            bad.append(step)
    return bad


@pytest.fixture(scope="module")
def statements(tmp_path_factory):
    """Every statement the scheduled paths executed on a 20,000-instalment book."""
    import asyncio

    path = tmp_path_factory.mktemp("plans") / "book.db"
    build(path, 20_000)
    executed: list[str] = []

    async def run() -> None:
        clock = clock_for_the_book()
        db = await Database(path).open()
        for conn in (db.reader, db._writer):
            await conn.set_trace_callback(executed.append)
        await run_scheduled_work(StorageUnitOfWorkFactory(db, clock), clock)
        await db.close()

    asyncio.run(run())
    return path, sorted({s for s in executed if s.lstrip().upper().startswith(
        ("SELECT", "UPDATE", "INSERT", "DELETE", "WITH"))})


def test_scheduled_statements_were_caught(statements):
    _, caught = statements
    assert len(caught) > 30  # servicing, rules, report, outbox, /ops: many distinct ones


def test_no_scheduled_statement_scans_the_book_or_sorts_it(statements):
    path, caught = statements
    conn = sqlite3.connect(path)
    found = {}
    for statement in caught:
        bad = offenders(conn, statement)
        if bad:
            found[statement[:160]] = bad
    conn.close()
    assert found == {}, "\n".join(f"{s}\n    {b}" for s, b in found.items())
