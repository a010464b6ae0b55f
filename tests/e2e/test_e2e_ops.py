"""Operators through the real bot: an alert arrives, is acknowledged, a user is frozen; the
console answers no one else; the daily report's chart is a real PNG."""

from datetime import UTC, date, datetime

from core.clock import FixedClock
from tests.support.chat_flows import say_and_expect, verify
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id

OPERATOR = 9000
NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)


async def test_alert_acknowledge_freeze_and_console(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW),
                          operator_ids=frozenset({OPERATOR})) as bot:
        op = bot.person(OPERATOR, "Olga", "en")
        await op.send("/start")
        await op.reply()
        jane, twin = bot.person(5001, "Jane", "en"), bot.person(5002, "Jane2", "zh")
        number = resident_id(date(1990, 5, 17))
        await verify(bot, jane, number=number)
        # The same identity on a second account: refused, and the operators are alerted.
        assert "另一个 Telegram 账号" in (await verify(bot, twin, number=number)).text
        alert = await op.reply()
        assert alert.text.startswith("🚨 Alert #1 (high): one identity on two accounts")
        assert "user:5002" in alert.text and number not in alert.text
        assert alert.button_texts == ["✓ Acknowledge #1", "🧊 Freeze user:5002"]
        # A non-operator pressing the same buttons, or asking for the console, gets nothing.
        await jane.press(alert, data="al:f:1")
        assert "no longer valid" in (await jane.next("answer")).text
        await say_and_expect(jane, "/ops", "I don't know that command")
        await say_and_expect(jane, "/freeze 5002 spam", "I don't know that command")
        assert q(bot.db_path, "SELECT frozen_reason FROM users WHERE id = 5002") == [(None,)]
        # The operator freezes the subject straight from the alert.
        await op.press(alert, "Freeze")
        await op.next("answer")
        assert "user:5002 is frozen (alert #1)" in (await op.next("edit")).text
        assert q(bot.db_path, "SELECT status, acked_by FROM alerts WHERE id = 1") == [
            ("acknowledged", OPERATOR)]
        await say_and_expect(twin, "/buy", "暂停使用")
        console = await say_and_expect(op, "/ops", "Daihuan operations")
        assert "Book: 3 users, 0 active agreements" in console.text
        assert "No open alerts." in console.text and "Servicing runs:" in console.text
        await say_and_expect(op, "/unfreeze 5002", "User 5002 is unfrozen.")
        await say_and_expect(op, "/unfreeze 5002", "Nothing changed")
        await say_and_expect(op, "/freeze abc", "Use: /freeze USER_ID reason")
        assert q(bot.db_path, "SELECT actor, kind FROM events WHERE subject = 'user:5002'"
                              " AND kind LIKE 'user.%' ORDER BY id") == [
            (f"operator:{OPERATOR}", "user.frozen"), (f"operator:{OPERATOR}", "user.unfrozen")]


async def test_daily_report_chart_is_a_png_sent_and_saved(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW),
                          operator_ids=frozenset({OPERATOR})) as bot:
        op = bot.person(OPERATOR, "Olga", "zh")
        await op.send("/start")
        await op.reply()
        await bot.app.job_queue.get_jobs_by_name("servicing")[0].run(bot.app)
        photo = await op.next("photo")
        png = photo.params["photo"]["content"]
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000
        assert photo.text.startswith("日报 2026-11-29")
        saved = tmp_path / "reports" / "daily-2026-11-29.png"
        assert saved.read_bytes() == png
        network = await op.reply()
        assert network.text.startswith("代还网络 — 敞口最高的代还人")
