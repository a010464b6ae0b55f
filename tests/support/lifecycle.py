"""One whole life of the product, scripted as the steps people take in their chats: three
people verify, a borrower buys and asks two friends, both sign, wallets are topped up by
Telegram Payments, servicing runs over several business dates (a debit that succeeds, one
that fails and succeeds on retry, one that fails every retry and defaults), one friend ends
his agreement early, the borrower pays her own part, and the operator is alerted.

The script does not care how the bot runs: a *stage* runs it in this process (the fault
test) or in a child process that is killed and restarted (the crash test). Each step can say
from the database whether its effect is already in the book, so a step cut short by a crash
is taken again only when it did not happen, as a person who looks at the bot would do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.demo.botapi import FakeBotApi, FakePerson, Output
from core.clock import utc_iso
from tests.support.dbcheck import columns, one, q, tables
from tests.support.idnumbers import resident_id

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 29, 10, tzinfo=TZ)
JANE, LI, BO, OLGA = 3001, 3002, 3005, 9000
OPERATORS = frozenset({OLGA})
IDS = {JANE: (resident_id(date(1990, 5, 17)), "Jane Smith"),
       LI: (resident_id(date(1985, 2, 3), sequence="456"), "Li Si"),
       BO: (resident_id(date(1980, 1, 1), sequence="789"), "Bo Wu")}
LINK = re.compile(r"start=(\S+)")
WAIT = 30.0  # seconds a person waits for an answer; faults and retries make some slow


class Stage(Protocol):
    api: FakeBotApi
    book: Path | str  # what tests.support.dbcheck reads: the SQLite file or PostgreSQL URL

    async def at(self, when: datetime) -> None:
        """Move the business clock."""

    async def service(self) -> None:
        """Servicing up to today's business date has finished."""

    async def settle(self) -> None:
        """Every update is handled and every notice due by now has been sent."""


@dataclass(frozen=True)
class Step:
    name: str
    act: Callable[[Stage], Awaitable[None]]
    done: Callable[[Path | str], bool]


def people(api: FakeBotApi) -> dict[int, FakePerson]:
    return {JANE: api.person(JANE, "Jane", "en"), LI: api.person(LI, "Li", "en"),
            BO: api.person(BO, "Bo", "en"), OLGA: api.person(OLGA, "Olga", "en")}


def person(stage: Stage, user_id: int) -> FakePerson:
    found = getattr(stage, "people", None)
    if found is None:
        found = stage.people = people(stage.api)  # type: ignore[attr-defined]
    found[user_id].cursor = stage.api.last_seq  # a step reads only what comes after it
    return found[user_id]


async def expect(someone: FakePerson, fragment: str, kind: str = "message") -> Output:
    """The next output of this kind containing ``fragment``; notices in between are skipped
    (they arrive whenever the outbox sends them)."""
    while True:
        output = await someone.next(kind, timeout=WAIT)
        if fragment in (output.text or ""):
            return output


async def say(someone: FakePerson, text: str, fragment: str) -> Output:
    await someone.send(text)
    return await expect(someone, fragment)


async def press(someone: FakePerson, output: Output, label: str, then: str = "edit",
                fragment: str = "") -> Output:
    await someone.press(output, label)
    await someone.next("answer", timeout=WAIT)
    return await expect(someone, fragment, then)


def last(api: FakeBotApi, n: int = 4) -> str:
    """The last few things the bot did, for a failure message."""
    return "last outputs: " + repr([(o.kind, o.chat_id, o.text) for o in api.outputs[-n:]])


# -- the steps ---------------------------------------------------------------------------

def start(user_id: int) -> Step:
    async def act(stage: Stage) -> None:
        await say(person(stage, user_id), "/start", "")

    return Step(f"{user_id} starts", act,
                lambda db: one(db, "SELECT COUNT(*) FROM users WHERE id = ?", user_id) == 1)


def verify(user_id: int) -> Step:
    number, name = IDS[user_id]

    async def act(stage: Stage) -> None:
        who = person(stage, user_id)
        await say(who, "/verify", "")
        await who.share_contact(f"+86139{user_id:08d}", owner_id=user_id)
        await expect(who, "")
        await say(who, name, "")
        await say(who, number, "Verified")

    return Step(f"{user_id} verifies", act, lambda db: one(
        db, "SELECT COUNT(*) FROM identities WHERE user_id = ?", user_id) == 1)


def buy() -> Step:
    async def act(stage: Stage) -> None:
        jane = person(stage, JANE)
        await say(jane, "/buy", "")
        await say(jane, "JD Mall", "")
        plans = await say(jane, "300", "")
        schedule = await press(jane, plans, "3 ×")
        await press(jane, schedule, "Confirm")

    return Step("Jane buys on 3 instalments", act,
                lambda db: one(db, "SELECT COUNT(*) FROM bills") == 1)


def ask(friend: int) -> Step:
    """Jane asks for half of every instalment by link; the friend opens it, accepts, passes
    the review and signs. The link is read from /requests, where it stays while open."""
    async def act(stage: Stage) -> None:
        jane, who = person(stage, JANE), person(stage, friend)
        if not stage_has_open_request(stage.book):
            choose = await say(jane, "/cover", "Which bill")
            shares = await press(jane, choose, "JD Mall")
            routes = await press(jane, shares, "50%")
            await press(jane, routes, "Get a link")
        links = getattr(stage, "links", {})  # what the friend got from Jane stays in chat
        if friend not in links:
            listed = await say(jane, "/requests", "Your cover requests")
            link = LINK.search(listed.text or "")
            assert link, f"no link in {listed.text!r}"
            links[friend] = link.group(1)
        await who.open_link(links[friend])
        review = await expect(who, "asks you to cover")
        incomes = await press(who, review, "Accept", fragment="monthly income")
        await who.press(incomes, "¥5,000–10,000")
        await who.next("answer", timeout=WAIT)
        agreement = await expect(who, "FRIEND REPAYMENT AGREEMENT")
        await press(who, agreement, "Sign", then="message", fragment="Signed: agreement #")

    return Step(f"Jane asks {friend} and they sign", act, lambda db: one(
        db, "SELECT COUNT(*) FROM agreements WHERE friend_id = ?", friend) == 1)


def stage_has_open_request(db: Path) -> bool:
    return one(db, "SELECT COUNT(*) FROM cover_requests WHERE status NOT IN"
                   " ('signed', 'declined', 'cancelled', 'expired', 'revoked')") > 0


def top_up(user_id: int, label: str, charge: str) -> Step:
    def booked(db: Path) -> bool:
        return one(db, "SELECT COUNT(*) FROM transfers WHERE idem_key LIKE ?",
                   f"%{charge}%") == 1

    async def act(stage: Stage) -> None:
        paid = getattr(stage, "paid", set())
        if charge in paid:  # Telegram has the money: the bot must book it, nobody pays twice
            for _ in range(int(WAIT / 0.05)):
                if booked(stage.book):
                    return
                await asyncio.sleep(0.05)
            raise TimeoutError(f"payment {charge} was taken and never booked")
        who = person(stage, user_id)
        wallet = await say(who, "/wallet", "Wallet balance")
        invoice_at = stage.api.last_seq
        await who.press(wallet, label)
        await who.next("answer", timeout=WAIT)
        who.cursor = invoice_at
        invoice = await who.next("invoice", timeout=WAIT)
        accepted, _ = await who.pay(invoice, charge_id=charge)
        assert accepted
        paid.add(charge)
        await expect(who, "added to your wallet")

    return Step(f"{user_id} tops up ({charge})", act, booked)


def service_on(day: date) -> Step:
    async def act(stage: Stage) -> None:
        await stage.at(datetime.combine(day, time(10), tzinfo=TZ))
        await stage.service()

    return Step(f"servicing {day}", act, lambda db: one(
        db, "SELECT COUNT(*) FROM servicing_runs WHERE business_date = ?"
            " AND finished_at IS NOT NULL", day.isoformat()) == 1)


def terminate(friend: int) -> Step:
    async def act(stage: Stage) -> None:
        who = person(stage, friend)
        choices = await say(who, "/terminate", "Which agreement")
        confirm = await press(who, choices, "End #")
        await press(who, confirm, "Yes, end #", fragment="ended")

    return Step(f"{friend} ends early", act, lambda db: one(
        db, "SELECT status FROM agreements WHERE friend_id = ?", friend) == "terminated")


def jane_pays(seq: int) -> Step:
    async def act(stage: Stage) -> None:
        jane = person(stage, JANE)
        bills = await say(jane, "/bills", "Open bills")
        confirm = await press(jane, bills, f"Pay {seq}/3")
        await press(jane, confirm, "✅ Pay", fragment="Paid instalment")

    return Step(f"Jane pays her part of {seq}/3", act, lambda db: one(
        db, "SELECT COUNT(*) FROM instalment_payments p JOIN instalments i"
            " ON i.id = p.instalment_id WHERE p.payer_id = ? AND i.seq = ?", JANE, seq) == 1)


def operator_starts() -> Step:
    return start(OLGA)


def script() -> list[Step]:
    return [
        operator_starts(),
        service_on(START.date()),        # the first day: nothing due yet
        start(JANE), start(LI), start(BO),
        verify(JANE), verify(LI), verify(BO),
        buy(), ask(LI), ask(BO),
        top_up(LI, "+ ¥50.00", "li-1"),
        service_on(date(2026, 12, 28)),  # D-1 reminders
        service_on(date(2026, 12, 29)),  # Li's part debited; Bo's fails (empty wallet)
        top_up(BO, "+ ¥50.00", "bo-1"),
        service_on(date(2026, 12, 30)),  # Bo's retry succeeds
        terminate(BO),                   # the rest of Bo's parts go back to Jane
        top_up(JANE, "+ ¥100.00", "jane-1"),
        jane_pays(2),                    # Jane's own half of the second instalment
        service_on(date(2027, 1, 29)),   # Li's part fails...
        service_on(date(2027, 1, 30)),   # ...and its retries fail...
        service_on(date(2027, 2, 1)),    # ...to a default: the part goes back to Jane
        service_on(date(2027, 2, 8)),    # overdue notices D+1/D+3/D+7 on the way
    ]


# -- what must come out the same -----------------------------------------------------------

# Columns that record when or through which message something happened, or a random
# secret: they differ between any two runs and say nothing about the book.
# claimed_by: which worker sent a notice, a random id per process (and none on SQLite);
# body: a draft sealed under a fresh nonce (who is mid-flow is compared, by user_id).
VOLATILE = re.compile(r"(_at|^token_salt|^token_hash|message_id|^last_error|^attempts"
                      r"|^claimed_by|^body)$")
# The inbox is how updates arrived (which run kept which, forgotten after a day), not the
# book: a run killed and restarted keeps them differently by design.
SKIP_TABLES = {"schema_migrations", "inbox"}


# Where a transfer's id is written down. PostgreSQL takes an id from a sequence even for
# an insert that is then refused (a debit the wallet cannot pay), so its transfer ids have
# gaps SQLite's have not; a book compared across engines numbers transfers by rank.
TRANSFER_REFERENCES = {"transfers": ("id", "reverses"), "postings": ("transfer_id",),
                       "bills": ("transfer_id",), "instalments": ("payment_transfer_id",),
                       "agreement_instalments": ("paid_transfer_id",),
                       "instalment_payments": ("transfer_id",)}


def book_at(db: Path | str, now: datetime, rank_transfers: bool = False
            ) -> dict[str, list[tuple]]:
    """The book as of ``now``: a flow someone left half-done (they took the step again
    another way after a crash) is over once its time is, whether or not the cleaning job
    has come round to deleting its draft yet."""
    state = book(db, rank_transfers)
    state["drafts"] = [tuple(row) for row in q(
        db, "SELECT user_id FROM drafts WHERE expires_at > ? ORDER BY user_id", utc_iso(now))]
    return state


def book(db: Path | str, rank_transfers: bool = False) -> dict[str, list[tuple]]:
    """Every table, without the volatile columns, rows in key order (a row starts with its
    id): the same for the same book on either engine (JSON as its canonical text) once
    ``rank_transfers`` numbers the transfers 1, 2, 3… in the order they were made."""
    rank: dict[int, int] = {}
    if rank_transfers:
        ids = q(db, "SELECT id FROM transfers ORDER BY id")
        rank = {old: new for new, (old,) in enumerate(ids, 1)}
    state = {}
    for table in tables(db):
        if table in SKIP_TABLES:
            continue
        # id first, then by name: the engines need not agree on the order of a table's columns.
        kept = sorted((c for c in columns(db, table) if not VOLATILE.search(c)),
                      key=lambda c: (c != "id", c))
        ranked = {kept.index(c) for c in TRANSFER_REFERENCES.get(table, ())} if rank else set()
        select = f"SELECT {', '.join(kept)} FROM {table}"
        if table == "book_totals":  # PostgreSQL keeps each total in shards that add up to it
            kept, select = ["name", "value"], ("SELECT name, SUM(value) FROM book_totals"
                                               " GROUP BY name")
        rows = []
        for row in q(db, select):
            row = tuple(rank.get(v, v) if i in ranked else v for i, v in enumerate(row))
            if rank and table == "events":
                row = tuple(_ranked_data(v, rank) if c == "data" else v
                            for c, v in zip(kept, row, strict=True))
            rows.append(tuple(_stable(v) for v in row))
        # NULLs first, as SQLite's ORDER BY has them, and never compared with a value.
        state[table] = sorted(rows, key=lambda row: tuple((v is not None, v) for v in row))
    return state


def _ranked_data(data: str, rank: dict[int, int]) -> str:
    facts = json.loads(data)
    for key in ("transfer", "last_payment"):  # the events that name a transfer
        if key in facts:
            facts[key] = rank.get(facts[key], facts[key])
    return json.dumps(facts)


NONCE = re.compile(r"(chat:\d+):[0-9a-f]{8}")  # a purchase's reference: random by design
MESSAGE_ID = re.compile(r'"message": \d+')  # in event data: which chat message showed it


def _stable(value: object) -> object:
    if not isinstance(value, str):
        return value
    if value[:1] in "{[":  # JSON: PostgreSQL's jsonb keeps its own key order and spacing
        with contextlib.suppress(ValueError):
            value = json.dumps(json.loads(value), sort_keys=True, ensure_ascii=False)
    value = MESSAGE_ID.sub('"message": <id>', LINK.sub("start=<link>", value))
    return NONCE.sub(r"\1:<nonce>", value)


def seen(api: FakeBotApi) -> Counter:
    """What each person saw, with the invitation links (random by design) blanked."""
    return Counter((o.kind, o.chat_id, _stable(o.text or ""), tuple(o.button_texts))
                   for o in api.outputs if o.kind not in ("inline", "precheckout"))


# -- whom each event concerns, worked out from the book alone -------------------------------

def concerned(db: Path | str) -> dict[int, set[int]]:
    """Event ids per person, from what each event is about (a request, an agreement, an
    instalment and the agreement it names, a bill, a person, an alert about people) and who
    did it: the oracle an audit export by person must match."""
    # A request concerns its borrower throughout, and its friend from when they came
    # into it: from the start when picked as a contact, else from their first step.
    requests = {f"cover:{i}": (b, f, route) for i, b, f, route in q(db,
        "SELECT id, borrower_id, friend_id, route FROM cover_requests")}
    first_step = dict(q(db,
        "SELECT subject || ' ' || actor, MIN(id) FROM events WHERE subject LIKE 'cover:%'"
        " GROUP BY subject, actor"))
    agreements = {i: {b, f} for i, b, f in q(db,
        "SELECT id, borrower_id, friend_id FROM agreements")}
    instalments = {f"instalment:{i}": b for i, b in q(db,
        "SELECT i.id, b.borrower_id FROM instalments i JOIN bills b ON b.id = i.bill_id")}
    bills = {f"bill:{i}": b for i, b in q(db, "SELECT id, borrower_id FROM bills")}
    alerts = {f"alert:{i}": (s, json.loads(e)) for i, s, e in q(db,
        "SELECT id, subject, evidence FROM alerts")}
    result: dict[int, set[int]] = {}
    for event_id, actor, subject, data in q(db,
            "SELECT id, actor, subject, data FROM events"):
        data = json.loads(data)
        people: set[int | None] = set()
        if actor.startswith(("user:", "operator:")) and actor != "operator:0":
            people.add(int(actor.split(":")[1]))
        if subject.startswith("user:"):
            people |= {int(subject[5:]), data.get("verified_user")}
        if subject in requests:
            borrower, friend, route = requests[subject]
            people.add(borrower)
            joined = first_step.get(f"{subject} user:{friend}")
            if route == "contact" or (joined is not None and event_id >= joined):
                people.add(friend)
        if subject.startswith("agreement:"):
            people |= agreements[int(subject.split(":")[1])]
        if subject in instalments:
            people.add(instalments[subject])
            people |= agreements.get(data.get("agreement"), set())
            people |= set(data.get("friends", []))  # still covering it when overdue
        if subject in bills:
            people.add(bills[subject])
        if subject in alerts:
            about, evidence = alerts[subject]
            if about.startswith("user:"):
                people.add(int(about[5:]))
            people |= {evidence.get("borrower"), *evidence.get("users", [])}
        for person in people - {None}:
            result.setdefault(person, set()).add(event_id)
    return result
