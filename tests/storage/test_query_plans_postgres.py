"""The same promise as test_query_plans, on PostgreSQL: what runs on a schedule costs what is
due, not what the book holds. PostgreSQL chooses plans at run time from its statistics, so the
plans are caught as they run (auto_explain logs every statement's plan, those inside the
ledger's triggers included) on a populated, analysed book. None may read a whole table that
grows with the book, nor sort what a large one holds to return one page of it (a page read in
key order must be a range of an index, or each page costs everything due again)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime

import asyncpg
import pytest

from bench.servicing import build
from core.clock import FixedClock
from storage.engine import open_book
from storage.leadership import WorkerPresence
from storage.pg.copy import copy_to_postgres
from storage.uow import StorageUnitOfWorkFactory
from tests.support.scheduled_work import GROWING, clock_for_the_book, run_scheduled_work

DATABASE = "daihuan_plans"
# A table this large costs a scan more than an index: the planner would not choose to scan
# it for a few rows unless no index serves the statement.
LARGE = 5_000
# One instalment in 20 is due on the day: 1,000, two pages of servicing's 500.
DUE_EVERY = 20
# Reading this share of a large table in one statement is walking the book: what is due
# on a day, or overdue, is a twentieth of it here.
WALK = 0.25
_PLAN = re.compile(r"duration: [0-9.]+ ms\s+plan:\s*")


def _plans(log: str) -> list[dict]:
    decoder = json.JSONDecoder()
    found = []
    for match in _PLAN.finditer(log):
        plan, _ = decoder.raw_decode(log, match.end())
        found.append(plan)
    return found


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


@pytest.fixture(scope="module")
def plans(postgres_server, tmp_path_factory):
    """Every plan the scheduled paths ran on a 20,000-instalment book, and its tables' sizes."""
    path = tmp_path_factory.mktemp("pgplans") / "book.db"
    build(path, 20_000, due_every=DUE_EVERY)
    log = postgres_server.folder / "server.log"

    async def run() -> tuple[str, dict[str, float]]:
        url = await postgres_server.create_database(DATABASE)
        await copy_to_postgres(path, url, FixedClock(datetime(2027, 1, 1, tzinfo=UTC)))
        conn = await asyncpg.connect(url)
        try:
            for name, value in (("session_preload_libraries", "auto_explain"),
                                ("auto_explain.log_min_duration", "0"),
                                ("auto_explain.log_nested_statements", "on"),
                                ("auto_explain.log_format", "json"),
                                ("auto_explain.log_analyze", "on"),  # the rows each read
                                ("auto_explain.log_timing", "off"),
                                # The cost of a random read on the SSDs servers have (the
                                # docs' advice for a deployment); PostgreSQL's default of 4
                                # is a spinning disk's, which favours scans of a small book.
                                ("random_page_cost", "1.1")):
                await conn.execute(f"ALTER DATABASE {DATABASE} SET {name} = '{value}'")
            sizes = {r["relname"]: r["reltuples"] for r in await conn.fetch(
                "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace")}
        finally:
            await conn.close()
        start = log.stat().st_size
        clock = clock_for_the_book()
        db = await open_book(url, clock)
        worker = WorkerPresence(url)  # so the outbox is drained by claims, as in production
        try:
            assert await worker.present()
            await run_scheduled_work(StorageUnitOfWorkFactory(db, clock), clock, worker)
        finally:
            await worker.release()
            await db.close()
        with log.open(errors="replace") as f:
            f.seek(start)
            return f.read(), sizes

    try:
        text, sizes = asyncio.run(run())
    finally:
        asyncio.run(postgres_server.drop_database(DATABASE))
    return _plans(text), sizes


def test_the_scheduled_plans_were_caught(plans):
    caught, sizes = plans
    statements = {p["Query Text"] for p in caught}
    assert len(statements) > 30  # servicing, rules, report, outbox, /ops: many distinct ones
    assert any("transfers_check" in s or "FOR UPDATE LOOP" in s or "ANY (ids)" in s
               for s in statements)  # the ledger's triggers are seen from inside
    assert sizes["instalments"] >= 20_000


def _large(node: dict, sizes: dict[str, float]) -> set[str]:
    return {n["Relation Name"] for n in _nodes(node)
            if n.get("Relation Name") in GROWING and sizes.get(n["Relation Name"], 0) >= LARGE}


def _offences(plan: dict, sizes: dict[str, float]):
    for node in _nodes(plan["Plan"]):
        if node["Node Type"] == "Seq Scan" and _large(node, sizes):
            yield f"scans {node['Relation Name']}"
        if node["Node Type"] == "Limit":
            # Sorting no more than the page returns is that page's own work; sorting more,
            # to keep a page of it, is every page paying for all that is due.
            for below in _nodes(node):
                if below["Node Type"] == "Sort" and below["Plan Rows"] > node["Plan Rows"] \
                        and _large(below, sizes):
                    yield f"sorts {sorted(_large(below, sizes))} for a page"


def _rows_read(node: dict) -> float:
    per_loop = (node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
                + node.get("Rows Removed by Index Recheck", 0))
    return per_loop * node.get("Actual Loops", 1)


def test_no_scheduled_statement_walks_a_large_growing_table(plans):
    # What the planner chose, as it ran: an index walked in key order and filtered, reading
    # the book to find a page, is no Seq Scan, but it reads as many rows.
    caught, sizes = plans
    found: dict[str, set[str]] = {}
    for plan in caught:
        for node in _nodes(plan["Plan"]):
            table = node.get("Relation Name")
            if _large(node, sizes) and table in GROWING \
                    and _rows_read(node) > sizes[table] * WALK:
                found.setdefault(" ".join(plan["Query Text"].split())[:200], set()).add(
                    f"{node['Node Type']} on {table}: {_rows_read(node):,.0f} rows")
    assert found == {}, "\n".join(f"{s}\n    {sorted(o)}" for s, o in found.items())


def test_no_scheduled_plan_scans_or_sorts_a_large_growing_table(plans):
    caught, sizes = plans
    found: dict[str, set[str]] = {}
    for plan in caught:
        for offence in _offences(plan, sizes):
            found.setdefault(" ".join(plan["Query Text"].split())[:200], set()).add(offence)
    assert found == {}, "\n".join(f"{s}\n    {sorted(o)}" for s, o in found.items())
