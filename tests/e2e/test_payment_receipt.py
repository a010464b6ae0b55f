"""A payment Telegram has taken is booked the moment its update is fetched, before the batch
can be confirmed: a bot that dies before its handler runs still credits the wallet, and the
payer is told once."""

from datetime import UTC, datetime

from core.clock import FixedClock
from tests.support.dbcheck import q
from tests.support.harness import BotHarness


async def test_payment_is_booked_on_arrival_even_if_no_handler_runs(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(datetime(2026, 11, 29, 2, tzinfo=UTC)),
                          payment_provider_token="284685063:TEST:provider") as bot:
        # As if the bot died between fetching the update and handling it: no handler runs.
        bot.app.handlers.clear()
        jane = bot.person(3001, "Jane", "en")
        payload = f"topup:{jane.id}:10000:0a1b2c3d"
        for _ in range(2):  # Telegram may deliver it again after a restart
            await jane.send_successful_payment(payload, "CNY", 10000, "tg-charge-1")
        told = await jane.reply(timeout=10)
        assert told.text == "✅ ¥100.00 added to your wallet. Balance: ¥100.00."
        await bot.drained()
        assert q(bot.db_path, "SELECT balance FROM accounts WHERE code = 'wallet:3001'") == [
            (10000,)]
        assert q(bot.db_path, "SELECT COUNT(*) FROM transfers WHERE kind = 'topup'") == [(1,)]
        assert jane.unread() == []  # told once


async def test_a_payment_that_cannot_be_booked_is_fetched_again(tmp_path, monkeypatch):
    """Booking fails (the database is away): the batch is not confirmed; once booking
    works the same update is fetched again and booked."""
    async with BotHarness(tmp_path, payment_provider_token="284685063:TEST:provider") as bot:
        bot.app.handlers.clear()
        import bot.payments as payments

        real, failures = payments.top_up, []

        async def failing(*args, **kwargs):
            if len(failures) < 2:
                failures.append(1)
                raise OSError("disk went away")
            return await real(*args, **kwargs)

        monkeypatch.setattr(payments, "top_up", failing)
        jane = bot.person(3001, "Jane", "en")
        await jane.send_successful_payment(f"topup:{jane.id}:5000:0a1b2c3d", "CNY", 5000,
                                           "tg-charge-2")
        assert "¥50.00 added" in (await jane.reply(timeout=15)).text
        assert len(failures) == 2
        metrics = bot.app.bot_data["metrics"]  # what monitoring sees of the hold-up
        assert metrics.registry.get_sample_value(
            "daihuan_payment_booking_failures_total") == 2
        assert q(bot.db_path, "SELECT balance FROM accounts WHERE code = 'wallet:3001'") == [
            (5000,)]
