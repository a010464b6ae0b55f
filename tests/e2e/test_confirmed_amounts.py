"""What a person confirmed is what is done: a Pay button carries the amount it showed, a
purchase's Confirm the fingerprint of the schedule it showed. When the book moved in
between, the press takes nothing and the new figures are shown to confirm again."""

import re
from datetime import UTC, date, datetime

from core.clock import FixedClock
from storage.db import Database
from storage.migrate import migrate
from storage.uow import StorageUnitOfWorkFactory
from tests.support.chat_flows import say_and_expect, verify
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.servicing_book import NOW, covered_bill, fund, person

JANE, LI = 3001, 3002


async def half_covered_book(path) -> None:
    clock = FixedClock(NOW)
    db = await Database(path).open()
    await migrate(db, clock)
    uow = StorageUnitOfWorkFactory(db, clock)
    await person(uow, JANE, date(1990, 1, 1))
    await person(uow, LI, date(1985, 1, 1))
    await covered_bill(uow, JANE, LI, share=5_000)  # ¥300 in 3; Li covers half of each
    await fund(uow, JANE, 1000, "jane")
    await db.close()


def wallet(path) -> int:
    return q(path, f"SELECT balance FROM accounts WHERE code = 'wallet:{JANE}'")[0][0]


async def press(who, output, label):
    await who.press(output, label)
    return await who.next("answer")


async def test_pay_takes_only_what_was_confirmed(tmp_path):
    await half_covered_book(tmp_path / "bot.db")
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        jane = bot.person(JANE, "Jane", "en")
        bills = await say_and_expect(jane, "/bills", "Open bills")
        await press(jane, bills, "Pay 1/3")
        shown = await jane.next("edit")
        assert "¥50.00 due" in shown.text and "✅ Pay ¥50.00" in shown.button_texts
        # Before she presses Pay, she takes the rest of the agreement back from Li: her
        # part of the first instalment is now all of it.
        choices = await say_and_expect(jane, "/terminate", "Which agreement")
        await press(jane, choices, "End #1")
        await press(jane, await jane.next("edit"), "Yes, end #1")
        assert "ended" in (await jane.next("edit")).text
        before = wallet(bot.db_path)
        answer = await press(jane, shown, "✅ Pay ¥50.00")
        assert "now ¥100.00" in answer.text and "Nothing was taken" in answer.text
        assert answer.params["show_alert"] is True
        again = await jane.next("edit")
        assert "¥100.00 due" in again.text and "✅ Pay ¥100.00" in again.button_texts
        assert wallet(bot.db_path) == before
        assert q(bot.db_path, "SELECT COUNT(*) FROM instalment_payments") == [(0,)]
        await press(jane, again, "✅ Pay ¥100.00")
        assert "Paid instalment 1/3" in (await jane.next("edit")).text
        assert wallet(bot.db_path) == before - 10_000
        assert q(bot.db_path, "SELECT amount FROM instalment_payments") == [(10_000,)]


async def test_a_purchase_confirm_buys_only_the_schedule_it_was_shown_with(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC))
                          ) as bot:
        ann = bot.person(2001, "Ann", "en")
        await verify(bot, ann)
        await say_and_expect(ann, "/buy", "Where are you buying")
        await say_and_expect(ann, "JD", "How much")
        plans = await say_and_expect(ann, "300", "In how many")
        await press(ann, plans, "3 ×")
        schedule = await ann.next("edit")
        confirm = next(b["callback_data"] for b in schedule.buttons if "Confirm" in b["text"])
        nonce, _ = re.fullmatch(r"buy:ok:([0-9a-f]{8}):([0-9a-f]{12})",
                                          confirm).groups()
        forged = f"buy:ok:{nonce}:{'0' * 12}"  # the same draft, another schedule
        await ann.press(schedule, data=forged)
        answer = await ann.next("answer")
        assert "nothing was bought" in answer.text and answer.params["show_alert"] is True
        await bot.drained()
        # The message already shows the current schedule (Telegram: "not modified").
        assert bot.api.message(ann.id, schedule.message_id).reply_markup == schedule.reply_markup
        assert q(bot.db_path, "SELECT COUNT(*) FROM bills") == [(0,)]
        await press(ann, schedule, "Confirm")
        assert "Bought" in (await ann.next("edit")).text
        assert q(bot.db_path, "SELECT principal, plan FROM bills") == [(30_000, 3)]
