"""A new borrower through the real Application: verify → credit → buy on 3 instalments →
bills → top-up → pay one instalment, in both languages, with bad input at every step."""

import sqlite3
from datetime import UTC, date, datetime

import pytest

from core.clock import FixedClock
from tests.support.chat_flows import ADULT_ID, buy_in_chat, say_and_expect, verify
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id, with_wrong_checksum

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def book(path):
    """Everything a bad input must leave alone."""
    tables = ["identities", "bills", "instalments", "transfers", "postings", "events"]
    return {t: q(path, f"SELECT * FROM {t}") for t in tables} | {
        "balances": q(path, "SELECT code, balance FROM accounts ORDER BY code")}


@pytest.fixture
async def bot(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW),
                          payment_provider_token="284685063:TEST:provider") as harness:
        yield harness








async def test_borrower_journey_in_english_with_bad_input_at_every_step(bot):
    jane = bot.person(2001, "Jane", "en")
    before = book(bot.db_path)

    # Verification: someone else's contact, text instead of the button, a bad name, a bad
    # checksum, a minor: each refused with its reason, nothing stored.
    prompt = await say_and_expect(jane, "/verify", "Step 1 of 3")
    assert prompt.keyboard == [{"text": "📱 Share my phone number", "request_contact": True}]
    await jane.share_contact("+8613911112222", owner_id=9999)
    assert "not your own number" in (await jane.reply()).text
    await jane.share_contact("+8613911112222")  # a contact card with no Telegram account
    assert "not your own number" in (await jane.reply()).text
    await say_and_expect(jane, "13800138000", "use the “Share my phone number” button")
    await jane.share_contact("+86 138 0013 8000", owner_id=jane.id)
    assert "Step 2 of 3" in (await jane.reply()).text
    await say_and_expect(jane, "J4ne", "does not look like a legal name")
    await say_and_expect(jane, "Jane Smith", "Step 3 of 3")
    await say_and_expect(jane, with_wrong_checksum(ADULT_ID), "last character does not match")
    await say_and_expect(jane, resident_id(date(2010, 1, 1)), "only for adults")
    await say_and_expect(jane, "12345", "17 digits followed by a digit or X")
    assert book(bot.db_path) == before
    done = await say_and_expect(jane, ADULT_ID, "✅ Verified: J*** S****, ID 1101**********")
    assert "+86*******8000" in done.text
    assert any(m.text == ADULT_ID for m in bot.api.deleted)  # the number did not linger
    assert q(bot.db_path, "SELECT id_mask FROM identities") == [(ADULT_ID[:4] + "*" * 10
                                                                 + ADULT_ID[-4:],)]

    credit = await say_and_expect(jane, "/credit", "tier D (score 580)")
    assert "Credit line: ¥2,000.00" in credit.text and "Available: ¥2,000.00" in credit.text
    assert "Real-name verified (+20)" in credit.text

    # Purchase: bad amounts, over the line; then 3 instalments, confirmed (twice).
    before = book(bot.db_path)
    await say_and_expect(jane, "/buy", "Where are you buying?")
    await say_and_expect(jane, "JD Mall", "up to ¥2,000.00")
    await say_and_expect(jane, "12.345", "at most two decimals")
    await say_and_expect(jane, "-5", "cannot be negative")
    await say_and_expect(jane, "abc", "could not read that")
    await say_and_expect(jane, "2000.01", "your available credit is ¥2,000.00")
    plans = await say_and_expect(jane, "300", "JD Mall: ¥300.00")
    assert plans.button_texts[:4] == ["1 × ¥303.00 (fee ¥3.00)", "3 × ¥100.00", "6 × ¥50.00",
                                      "12 × ¥26.80 (fee ¥21.60)"]
    await jane.press(plans, "3 × ¥100.00")
    await jane.next("answer")
    schedule = await jane.next("edit")
    assert "principal ¥300.00, fee ¥0.00, total ¥300.00, 3 instalments" in schedule.text
    assert "1/3  due 29 Dec 2026  ¥100.00" in schedule.text
    assert "3/3  due 29 Feb 2027" not in schedule.text and "28 Feb 2027" in schedule.text
    assert book(bot.db_path) == before
    await jane.press(schedule, "Confirm")
    await jane.next("answer")
    bought = await jane.next("edit")
    assert "✅ Bought: JD Mall, ¥300.00 in 3 instalments. First due 29 Dec 2026" in bought.text
    await jane.press(schedule, "Confirm")  # a second tap on the same button
    assert "no longer valid" in (await jane.next("answer")).text
    await bot.drained()
    assert q(bot.db_path, "SELECT COUNT(*) FROM bills") == [(1,)]
    assert q(bot.db_path, "SELECT COUNT(*) FROM instalments") == [(3,)]

    # Bills, and paying with an empty wallet.
    bills = await say_and_expect(jane, "/bills", "Open bills — page 1 of 1")
    assert "1/3 due 29 Dec 2026  ¥100.00  unpaid — you pay" in bills.text
    assert len(bills.buttons) == 6  # "Pay" and "Ask a friend" on each unpaid instalment
    await jane.press(bills, "Pay 1/3")
    await jane.next("answer")
    confirm = await jane.next("edit")
    assert "from your wallet (balance ¥0.00)" in confirm.text
    await jane.press(confirm, "Pay ¥100.00")
    refusal = await jane.next("answer")
    assert "Your wallet has ¥0.00, this instalment is ¥100.00" in refusal.text
    assert q(bot.db_path, "SELECT COUNT(*) FROM instalments WHERE status = 'paid'") == [(0,)]

    # Top-up by Telegram Payments; Telegram repeating the update credits once.
    wallet = await say_and_expect(jane, "/wallet", "Wallet balance: ¥0.00")
    await jane.press(wallet, "+ ¥100.00")
    await jane.next("answer")
    invoice = await jane.next("invoice")
    assert invoice.params["currency"] == "CNY"
    assert invoice.params["prices"][0]["amount"] == 10000
    accepted, charge = await jane.pay(invoice)
    assert accepted
    assert "✅ ¥100.00 added to your wallet. Balance: ¥100.00." in (await jane.reply()).text
    await jane.send_successful_payment(invoice.params["payload"], "CNY", 10000, charge)
    await bot.drained()
    assert jane.unread() == [] or all(o.kind != "message" for o in jane.unread())
    assert q(bot.db_path, "SELECT balance FROM accounts WHERE code = 'wallet:2001'") == [
        (10000,)]

    # Pay the first instalment; a replayed press takes nothing more.
    await jane.press(confirm, "Pay ¥100.00")
    await jane.next("answer")
    paid = await jane.next("edit")
    assert "✅ Paid instalment 1/3 of JD Mall: ¥100.00. Wallet balance: ¥0.00." in paid.text
    await jane.press(confirm, "Pay ¥100.00")
    assert "already paid" in (await jane.next("answer")).text
    await bot.drained()
    assert q(bot.db_path, "SELECT seq, status FROM instalments ORDER BY seq") == [
        (1, "paid"), (2, "unpaid"), (3, "unpaid")]
    assert q(bot.db_path, "SELECT balance FROM accounts WHERE code = 'wallet:2001'") == [(0,)]
    wallet = await say_and_expect(jane, "/wallet", "Wallet balance: ¥0.00")
    assert "-¥100.00  instalment repaid" in wallet.text and "+¥100.00  top-up" in wallet.text


async def test_borrower_journey_in_chinese(bot):
    li = bot.person(2002, "李雷", "zh-hans")
    assert "实名认证成功：张*" in (await verify(bot, li, name="张三")).text
    await say_and_expect(li, "/credit", "D 级（580 分）")
    await say_and_expect(li, "/buy", "在哪家店购买")
    await say_and_expect(li, "京东自营", "最多可用 ¥2,000.00")
    await say_and_expect(li, "12.345", "最多两位小数")
    plans = await say_and_expect(li, "¥1,200", "京东自营：¥1,200.00")
    await li.press(plans, "6 期")
    await li.next("answer")
    schedule = await li.next("edit")
    assert "第 1/6 期  2026年12月29日 到期  ¥200.00" in schedule.text
    await li.press(schedule, "确认购买")
    await li.next("answer")
    assert "购买成功：京东自营，¥1,200.00，分 6 期" in (await li.next("edit")).text
    bills = await say_and_expect(li, "/bills", "未结清账单")
    wallet = await say_and_expect(li, "/wallet", "账户余额：¥0.00")
    await li.press(wallet, "+ ¥200.00")
    await li.next("answer")
    accepted, _ = await li.pay(await li.next("invoice"))
    assert accepted and "已充值 ¥200.00" in (await li.reply()).text
    await li.press(bills, "还第 1/6 期")
    await li.next("answer")
    confirm = await li.next("edit")
    await li.press(confirm, "还款 ¥200.00")
    await li.next("answer")
    assert "已偿还 京东自营 第 1/6 期：¥200.00。账户余额：¥0.00。" in (await li.next("edit")).text


async def test_same_identity_on_second_account_is_refused(bot):
    first, second = bot.person(2003, "A", "en"), bot.person(2004, "B", "en")
    assert "Verified" in (await verify(bot, first)).text
    before = q(bot.db_path, "SELECT * FROM identities")
    assert "already verified on another Telegram account" in (await verify(bot, second)).text
    assert q(bot.db_path, "SELECT * FROM identities") == before
    assert q(bot.db_path, "SELECT subject FROM events WHERE kind = 'identity.duplicate_refused'"
             ) == [("user:2004",)]


async def test_unverified_cannot_buy_and_cancel_leaves_flows(bot):
    tom = bot.person(2005, "Tom", "en")
    await say_and_expect(tom, "/buy", "verify your identity first")
    await say_and_expect(tom, "/verify", "Step 1 of 3")
    await say_and_expect(tom, "/cancel", "Stopped. Nothing was changed.")
    await say_and_expect(tom, "/cancel", "nothing to stop")
    await say_and_expect(tom, "Jane Smith", "not sure what you mean")


async def test_forged_payment_and_pay_buttons_change_nothing(bot):
    jane = bot.person(2006, "Jane", "en")
    mallory = bot.person(2007, "Mallory", "en")
    await verify(bot, jane)
    await buy_in_chat(jane)
    bills = await say_and_expect(jane, "/bills", "page 1 of 1")
    pay_data = bills.buttons[0]["callback_data"]
    before = book(bot.db_path)
    # Mallory replays Jane's button data: refused, nothing changes.
    await mallory.press(bills, data=pay_data.replace("pay:", "payok:"))
    assert "no longer valid" in (await mallory.next("answer")).text
    # A pre-checkout for an invoice that is not ours, or for another user, is refused.
    await jane.send_update({"pre_checkout_query": {
        "id": f"pcq-{jane.id}-1", "from": jane.user, "currency": "CNY", "total_amount": 10000,
        "invoice_payload": f"topup:{mallory.id}:10000:abcdef01"}})
    answer = await bot.api.wait_output(lambda o: o.kind == "precheckout")
    assert answer.params["ok"] is False
    assert "does not match your top-up" in answer.params["error_message"]
    await bot.drained()
    assert book(bot.db_path) == before


async def test_verification_at_debug_logs_no_number_phone_or_name(tmp_path, production_logs):
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as harness:
        jane = harness.person(2010, "Jane", "en")
        await jane.send("/verify")
        await jane.reply()
        await jane.share_contact("+86 138-0013-8000", owner_id=jane.id)
        await jane.reply()
        await jane.send("13800138000")  # typed where a name belongs: refused, but seen
        await jane.reply()
        await jane.send("Jane Quincy Smith")
        await jane.reply()
        await jane.send(with_wrong_checksum(ADULT_ID))
        await jane.reply()
        await jane.send(ADULT_ID.lower())
        assert "Verified" in (await jane.reply()).text
        await harness.drained()
    logs = production_logs.getvalue()
    assert "Calling Bot API endpoint" in logs  # DEBUG really was on
    for secret in (ADULT_ID, ADULT_ID.lower(), ADULT_ID[:17], with_wrong_checksum(ADULT_ID),
                   "13800138000", "138-0013-8000", "Jane Quincy Smith", "Quincy"):
        assert secret not in logs, secret


async def test_bills_pages_overdue_marks_and_frozen_user(bot):
    from core.bills import FeeSchedule
    from core.imports import parse_bills
    from core.services.imports import import_bills
    from storage.uow import StorageUnitOfWorkFactory

    rows = parse_bills("bill_ref,user_id,merchant,amount,instalments,purchase_date\n" + "".join(
        f"B{k},2020,Shop {k},{100 * (k + 1)},3,2026-0{k + 1}-15\n" for k in range(5)),
        date(2026, 11, 29))
    uow = StorageUnitOfWorkFactory(bot.app.bot_data["database"], FixedClock(NOW))
    assert await import_bills(uow, rows, FeeSchedule(), "operator:0") == (5, 0)
    ann = bot.person(2020, "Ann", "en")
    first = await say_and_expect(ann, "/bills", "Open bills — page 1 of 2")
    assert "Shop 0" in first.text and "Shop 3" not in first.text
    assert "⚠️ overdue — you pay" in first.text  # bought in January: all due by now
    assert first.button_texts[-1] == "Next ▶"
    await ann.press(first, "Next ▶")
    await ann.next("answer")
    second = await ann.next("edit")
    assert "page 2 of 2" in second.text and "Shop 4" in second.text
    assert second.button_texts[-1] == "◀ Previous"
    await ann.press(second, data="bills:999")  # past the end: the last page, not an error
    assert (await ann.next("answer")).text is None
    await bot.drained()
    assert ann.unread() == []  # no apology: showing the same page again is fine
    await ann.press(second, data="bills:9999")  # no button has a page that large
    assert "no longer valid" in (await ann.next("answer")).text

    # A frozen user can read but not buy.
    await verify(bot, ann, number=resident_id(date(1985, 3, 3)))
    # A plain sqlite3 write blocks this loop, which the bot shares: let it finish first.
    await bot.drained()
    conn = sqlite3.connect(bot.db_path)
    conn.execute("UPDATE users SET frozen_reason = 'review', frozen_at = 'now' WHERE id = 2020")
    conn.commit()
    conn.close()
    await say_and_expect(ann, "/buy", "Your account is on hold")
    await say_and_expect(ann, "/bills", "Open bills")


async def test_failure_after_the_press_was_answered_is_apologised_in_the_chat(bot, monkeypatch):
    import bot.handlers.buy as buy_handlers

    async def broken(*args, **kwargs):
        raise RuntimeError("storage unavailable")

    jane = bot.person(2030, "Jane", "en")
    await verify(bot, jane, number=resident_id(date(1988, 8, 8)))
    await say_and_expect(jane, "/buy", "")
    await say_and_expect(jane, "Shop", "")
    plans = await say_and_expect(jane, "100", "")
    await jane.press(plans, "3 ×")
    await jane.next("answer")
    schedule = await jane.next("edit")
    monkeypatch.setattr(buy_handlers, "buy", broken)
    await jane.press(schedule, "Confirm")
    await jane.next("answer")  # the handler answered first, then failed
    apology = await jane.reply()
    assert apology.text == "Sorry, something went wrong on our side. Please try again in a moment."
