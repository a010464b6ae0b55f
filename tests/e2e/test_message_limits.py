"""Messages that outgrow Telegram's limits: the longest names Telegram allows (64 characters,
emoji counting twice), 40-character merchants, legal names of 30 letters, a borrower with
seven 12-instalment bills each covered by three friends, ten more open requests, twenty
agreements, a full wallet statement, a console of alerts and an alert whose evidence names
five hundred people. Every page of /bills, /requests, /agreements, /wallet, /ops, every
notice and caption goes through the offline Bot API, which refuses what Telegram refuses
(texts over 4,096 UTF-16 units, captions over 1,024, callback data over 64 bytes, more than
100 buttons), and nothing is refused."""

import logging
from datetime import UTC, date, datetime

from bot.context import services
from bot.jobs import JobContext, drain_job
from core.bills import FeeSchedule, make_quote
from core.capacity import CapacityPolicy, IncomeBand
from core.clock import FixedClock
from core.cover import Route
from core.identity import parse_resident_id
from core.money import Money
from core.outbox import IMMEDIATELY, Notice
from core.services import cover
from core.services.cover import CoverConfig
from core.services.purchases import record_bill
from core.services.verification import verify
from core.users import Language
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id
from tests.support.servicing_book import HASHER, TOKENS, fund, take_link

NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)
BORROWER, FRIENDS, OPERATOR = 4001, (4011, 4012, 4013), 9000
CONFIG = CoverConfig(invites_per_day=1000, capacity=CapacityPolicy(
    max_active_agreements=1000, exposure_cap=Money.yuan(10_000_000)))


def longest_name(tag: str) -> str:
    """64 characters, half of them emoji: 96 UTF-16 units."""
    return ("🐉" * 32 + tag * 32)[:64]


def merchant(n: int) -> str:
    return ("🛒" * 19 + f"商户{n:02d}" + "M" * 40)[:40]


async def build(path) -> None:
    clock = FixedClock(NOW)
    db = await Database(path).open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    for n, user in enumerate((BORROWER, *FRIENDS)):
        async with uow() as tx:
            await tx.users.upsert_seen(user, longest_name(chr(65 + n)), "en")
            await tx.commit()
        legal = f"{chr(65 + n) * 14} {chr(66 + n) * 15}"  # 30 letters: the longest name
        await verify(uow, HASHER, user_id=user, phone=f"+86138{user:08d}", legal_name=legal,
                     resident=parse_resident_id(resident_id(date(1980 + n, 1, 1),
                                                            sequence=f"{n:03d}"), NOW.date()))
    async with uow() as tx:
        await tx.users.upsert_seen(OPERATOR, longest_name("O"), "en")
        await tx.commit()
    for k in range(7):  # seven bills of twelve, each covered by three friends
        async with uow() as tx:
            bill = await record_bill(tx, BORROWER, make_quote(
                merchant(k), Money.yuan(1_200 + k), 12, NOW.date(), FeeSchedule()), "chat",
                f"long-{k}")
            await tx.commit()
        for friend in FRIENDS:
            created = await cover.create_request(
                uow, TOKENS, CONFIG, borrower_id=BORROWER, bill_id=bill.id,
                instalment_ids=None, share_bp=3_000, route=Route.LINK, friend_id=None,
                now=NOW)
            rid = created.request.id
            await take_link(uow, rid, friend)
            await cover.accept(uow, request_id=rid, user_id=friend, now=NOW)
            await cover.review_friend(uow, CONFIG, request_id=rid, friend_id=friend,
                                      band=IncomeBand.FROM_20K, today=NOW.date(), now=NOW)
            text = await cover.agreement_preview(uow, CONFIG, request_id=rid,
                                                 friend_id=friend, share_bp=3_000,
                                                 language=Language.EN, today=NOW.date(),
                                                 now=NOW)
            await cover.sign(uow, CONFIG, request_id=rid, friend_id=friend, share_bp=3_000,
                             shown_sha256=text.sha256, language=Language.EN, chat_id=None,
                             message_id=None, today=NOW.date(), now=NOW)
    for k in range(10):  # ten more bills, each with an open link waiting
        async with uow() as tx:
            bill = await record_bill(tx, BORROWER, make_quote(
                merchant(20 + k), Money.yuan(100), 3, NOW.date(), FeeSchedule()), "chat",
                f"open-{k}")
            await tx.commit()
        await cover.create_request(uow, TOKENS, CONFIG, borrower_id=BORROWER, bill_id=bill.id,
                                   instalment_ids=None, share_bp=10_000, route=Route.LINK,
                                   friend_id=None, now=NOW)
    for k in range(12):
        await fund(uow, BORROWER, 10 + k, f"statement-{k}")
    async with uow() as tx:  # an alert naming five hundred people, and a console full
        await tx.outbox.plan([(Notice("huge-alert", OPERATOR, "alert", {
            "id": 1, "rule": "circular", "severity": "high", "subject": "user:4011",
            "evidence": {"users": list(range(10_000_000, 10_000_500))}}, urgent=True),
            IMMEDIATELY)])
        await tx.commit()
    await db.close()


async def test_every_message_fits_telegrams_limits(tmp_path, caplog):
    await build(tmp_path / "bot.db")
    caplog.set_level(logging.WARNING)
    async with BotHarness(tmp_path, clock=FixedClock(NOW),
                          operator_ids=frozenset({OPERATOR})) as bot:
        jane = bot.person(BORROWER, longest_name("A"), "en")
        for _ in range(20):  # the notices of building the book (openings, signatures) first
            await drain_job(JobContext(bot.app))
            if not q(bot.db_path, "SELECT 1 FROM outbox WHERE status = 'pending'"):
                break
        await bot.drained()
        jane.cursor = bot.api.last_seq
        await jane.send("/bills")
        page = await jane.reply()
        pages = int(page.text.split(" of ")[1].split("\n")[0])
        assert pages >= 6  # three long bills would not fit one message: they spread out
        seen_bills = set()
        for n in range(pages):
            seen_bills |= {line for line in page.text.split("\n") if line.startswith("🧾")}
            if n + 1 < pages:
                await jane.press(page, "Next ▶")
                await jane.next("answer")
                page = await jane.next("edit")
        assert len(seen_bills) == 17  # every bill on some page
        await jane.press(page, data=page.buttons[0]["callback_data"])  # Pay 1/3
        await jane.next("answer")
        assert "from your wallet" in (await jane.next("edit")).text
        replies, statements = {}, {}
        found = services(bot.app)
        for command in ("/requests", "/agreements", "/wallet", "/credit", "/bills"):
            seen: list[str] = []
            for conn in (found.uow.db.reader, found.uow.db._writer):
                await conn.set_trace_callback(seen.append)
            await jane.send(command)
            replies[command] = await jane.reply()
            for conn in (found.uow.db.reader, found.uow.db._writer):
                await conn.set_trace_callback(None)
            statements[command] = seen
        # One read per list, whatever its length: 10 requests and 21 agreements, each with a
        # merchant and a counterpart's name, would be 30 and 60 more as one read per item.
        for command in ("/requests", "/agreements"):
            reads = [q for q in statements[command] if "FROM cover_requests" in q
                     or "FROM agreements" in q or "FROM bills" in q or "FROM identities" in q]
            assert len(reads) == 1, (command, reads)
        # /bills: who covers each instalment of all 17 bills, in one read (was one per bill,
        # then one per friend for the name).
        names = [q for q in statements["/bills"] if "legal_name" in q]
        assert len(names) == 1, names
        assert not [q for q in statements["/bills"] if "a.bill_id = " in q]
        assert "older ones are not shown" in replies["/agreements"].text  # 21: some cut
        await jane.press(replies["/agreements"], "Full text of #21")
        await jane.next("answer")
        await jane.next("document")
        cards = await jane.inline("")
        assert len(cards.params["results"]) == 10
        li = bot.person(FRIENDS[0], longest_name("B"), "zh")
        await li.send("/agreements")
        await li.reply()
        (salt,), = q(bot.db_path, "SELECT token_salt FROM cover_requests"
                                  " WHERE status = 'pending' ORDER BY id LIMIT 1")
        await li.open_link(TOKENS.payload(salt))
        assert "邀请你代还" in (await li.reply()).text
        olga = bot.person(OPERATOR, longest_name("O"), "en")
        await olga.send("/ops")
        await olga.reply()
        await drain_job(JobContext(bot.app))
        await bot.drained()
        # What reached people: nothing refused, nothing apologised for, all within limits.
        for output in bot.api.outputs:
            text = output.text or ""
            limit = {"photo": 1024, "document": 1024, "answer": 200}.get(output.kind, 4096)
            assert len(text.encode("utf-16-le")) // 2 <= limit, (output.kind, text[:80])
            assert "went wrong" not in text
        alert = next(o for o in bot.api.outputs if o.chat_id == OPERATOR
                     and (o.text or "").startswith("🚨 Alert #1"))
        assert alert.text.endswith("…")  # the evidence is cut, whole lines kept
        refused = [r.getMessage() for r in caplog.records
                   if r.levelno >= logging.ERROR or "cut to" in r.getMessage()]
        assert refused == []  # no feature relied on the last line of defence


def test_the_longest_agreement_fits_one_message_in_both_languages():
    """The text a friend signs is never cut: it is bounded (12 instalments, a 40-character
    merchant, masked names), and its longest form fits a message with room to spare."""
    from bot.i18n import Texts
    from core.agreement import AgreementTerms, render

    texts = Texts.load()
    terms = AgreementTerms(
        borrower_name="A" + "*" * 13 + " B" + "*" * 14, borrower_id_mask="1101**********1234",
        friend_name="C" + "*" * 13 + " D" + "*" * 14, friend_id_mask="1101**********1234",
        merchant="🛒" * 40, purchased_on="2026-11-29", principal=Money(10**10), share_bp=3333,
        parts=tuple((k, 12, "2027-12-31", Money(10**9)) for k in range(1, 13)),
        retry_days="1/3/7/14/30", notice_days=60)
    for language in Language:
        text = render(terms, language)
        shown = texts.get(language, "agreement.show", text=text.text, version=text.version,
                          sha=text.sha256)
        assert len(shown.encode("utf-16-le")) // 2 < 4096 * 0.6
