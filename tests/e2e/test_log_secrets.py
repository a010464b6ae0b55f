"""The whole lifecycle with logging at DEBUG: no bot token, identity number, phone number or
full legal name reaches the logs."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from core.clock import FixedClock
from tests.support.chat_flows import (
    ask_by_link,
    buy_in_chat,
    catch_up,
    friend_signs,
    say_and_expect,
    verify,
)
from tests.support.harness import TEST_TOKEN, BotHarness
from tests.support.idnumbers import resident_id

TZ = ZoneInfo("Asia/Shanghai")
BORROWER_NAME, FRIEND_NAME = "Jane Quincy Smith", "Liu Xiaoming Wang"
BORROWER_ID = resident_id(date(1990, 5, 17))
FRIEND_ID = resident_id(date(1985, 2, 3), sequence="456")
PHONES = ("+8613800138000", "8613800138000", "13800138000", "+8613911112222", "13911112222")


async def test_lifecycle_at_debug_logs_nothing_personal(tmp_path, production_logs):
    clock = FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC))
    async with BotHarness(tmp_path, clock=clock, operator_ids=frozenset({9000}),
                          payment_provider_token="284685063:TEST:provider") as bot:
        op = bot.person(9000, "Olga", "en")
        await op.send("/start")
        await op.reply()
        jane = bot.person(3001, "Jane", "en")
        await verify(bot, jane, number=BORROWER_ID, name=BORROWER_NAME)
        await buy_in_chat(jane, "JD Mall", "300")
        _, payload = await ask_by_link(jane)
        li = bot.person(3002, "Li", "en")
        await verify(bot, li, number=FRIEND_ID, name=FRIEND_NAME)
        await li.send("13911112222")  # a phone typed where it does not belong
        await li.reply()
        await friend_signs(bot, li, payload)
        wallet = await say_and_expect(li, "/wallet", "Wallet balance")
        await li.press(wallet, "+ ¥100.00")
        await li.next("answer")
        await li.pay(await li.next("invoice"))
        await catch_up(bot, li)
        clock.set(datetime.combine(date(2026, 12, 29), time(9), tzinfo=TZ))
        await bot.app.job_queue.get_jobs_by_name("servicing")[0].run(bot.app)
        await bot.drained()
    logs = production_logs.getvalue()
    assert "Calling Bot API endpoint" in logs
    secrets = [TEST_TOKEN, TEST_TOKEN.split(":")[1], BORROWER_ID, FRIEND_ID,
               BORROWER_ID[:17], FRIEND_ID[:17], BORROWER_NAME, FRIEND_NAME, "Quincy",
               "Xiaoming", *PHONES]
    leaked = [s for s in secrets if s in logs]
    assert leaked == [], leaked
    assert "DEBUG" in logs and len(logs) > 10_000  # a real DEBUG log was examined
