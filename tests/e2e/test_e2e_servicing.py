"""Servicing through the bot: the daily job debits, plans notices, and the outbox sends them
in each person's language, after quiet hours, with a button to act."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.jobs import JobContext, drain_job
from core.clock import FixedClock
from storage.uow import StorageUnitOfWorkFactory
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.servicing_book import covered_bill, fund, person

TZ = ZoneInfo("Asia/Shanghai")


async def test_daily_job_debits_and_notices_arrive_after_quiet_hours(tmp_path):
    clock = FixedClock(datetime.combine(datetime(2026, 12, 29), time(6), tzinfo=TZ))
    async with BotHarness(tmp_path, clock=clock) as bot:
        jane, li = bot.person(1, "Jane", "en"), bot.person(11, "Li", "zh")
        for p in (jane, li):
            await p.send("/start")
            await p.reply()
        uow = StorageUnitOfWorkFactory(bot.app.bot_data["database"], clock)
        await person(uow, 1, datetime(1990, 1, 1).date())
        await person(uow, 11, datetime(1980, 1, 1).date())
        await covered_bill(uow, 1, 11)
        await fund(uow, 11, 100, "li")
        await drain_job_now(bot)  # the notices about the request and the signing...
        await bot.drained()
        jane.cursor = li.cursor = bot.api.last_seq  # ...are not what this test reads
        # The scheduled job at 06:00 on the due date (the first instalment, ¥100.00).
        await bot.app.job_queue.get_jobs_by_name("servicing")[0].run(bot.app)
        assert q(bot.db_path, "SELECT status FROM instalments WHERE id = 1") == [("paid",)]
        await drain_job_now(bot)
        assert [o for o in bot.api.outputs if o.kind == "message" and o.chat_id in (1, 11)
                and "Debited" in (o.text or "") + ""] == []  # 06:00 is quiet: held
        clock.set(datetime.combine(datetime(2026, 12, 29), time(8, 1), tzinfo=TZ))
        await drain_job_now(bot)
        li_notice = await li.reply()
        assert "✅ 已从你的账户扣款 ¥100.00，用于你代还的 Shop1 第 1/3 期" in li_notice.text
        assert li_notice.button_texts == ["💰 我的账户"]
        jane_notice = await jane.reply()
        assert "Your friend's part of Shop1 1/3 (due 29 Dec 2026), ¥100.00, was paid" in \
            jane_notice.text
        await jane.press(jane_notice, "My bills")
        await jane.next("answer")
        bills = await jane.next("edit")
        # Debited at 06:00 in Shanghai, 22:00 UTC the day before: shown on the local day.
        assert "1/3 due 29 Dec 2026  ¥100.00  ✅ paid 29 Dec 2026" in bills.text
        await li.send("/wallet")
        wallet = await li.reply()
        assert "2026年12月29日  -¥100.00" in wallet.text
        li.cursor = wallet.seq
        # Re-running the date sends nothing new.
        await bot.app.job_queue.get_jobs_by_name("servicing")[0].run(bot.app)
        await drain_job_now(bot)
        await bot.drained()
        assert li.unread() == [] and jane.unread() == []
        assert q(bot.db_path, "SELECT status, COUNT(*) FROM outbox WHERE kind LIKE 'debit%'"
                 " GROUP BY 1") == [("sent", 2)]
        clock.advance(timedelta(days=28))  # 2027-01-26: reminders for 2027-01-29 (D-3)
        await bot.app.job_queue.get_jobs_by_name("servicing")[0].run(bot.app)
        await drain_job_now(bot)
        reminder = await li.reply()
        assert reminder.text.startswith("⏰ 3 天后：你代还的 Shop1 第 2/3 期 ¥100.00")


async def drain_job_now(bot):
    await drain_job(JobContext(bot.app))
