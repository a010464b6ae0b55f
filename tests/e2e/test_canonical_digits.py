"""One number, one form: digits of any script are made ASCII before anything validates,
hashes or stores them, so one identity cannot verify on two accounts by typing its number
with Arabic-Indic, Devanagari or full-width digits. Rows stored before the fix that show a
non-ASCII digit are found by a migration and reach operators as alerts."""

import sqlite3
from datetime import UTC, date, datetime

import pytest

from core.clock import FixedClock
from core.identity import IdentityHasher, normalize_phone, parse_resident_id
from core.money import Money, parse_amount
from core.numerals import canonical_digits, parse_date, parse_int
from storage.db import Database
from storage.migrate import migrate
from tests.support.chat_flows import ask_by_link, buy_in_chat, say_and_expect, verify
from tests.support.dbcheck import q
from tests.support.harness import BotHarness
from tests.support.idnumbers import resident_id

NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
NUMBER = resident_id(date(1990, 5, 17))
SCRIPTS = {"arabic-indic": 0x660, "extended arabic-indic": 0x6F0, "devanagari": 0x966,
           "bengali": 0x9E6, "full-width": 0xFF10, "mathematical bold": 0x1D7CE}


def written_in(text: str, zero: int) -> str:
    return "".join(chr(zero + int(c)) if c.isascii() and c.isdigit() else c for c in text)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_an_id_number_in_any_script_is_the_same_number_and_the_same_hash(script):
    typed = written_in(NUMBER, SCRIPTS[script])
    assert typed != NUMBER
    parsed = parse_resident_id(typed, date(2026, 11, 29))
    assert parsed.number == NUMBER and parsed.mask == NUMBER[:4] + "*" * 10 + NUMBER[-4:]
    hasher = IdentityHasher(b"k" * 32)
    assert hasher.resident_id(parsed) == hasher.resident_id(
        parse_resident_id(NUMBER, date(2026, 11, 29)))


def test_mixed_scripts_and_other_numbers_are_canonical_too():
    mixed = NUMBER[:6] + written_in(NUMBER[6:12], 0x660) + written_in(NUMBER[12:], 0x966)
    assert parse_resident_id(mixed, date(2026, 11, 29)).number == NUMBER
    assert normalize_phone(written_in("+86 138-0013-8000", 0x660)) == "+8613800138000"
    assert parse_amount(written_in("1,299.50", 0x966)) == Money(129_950)
    assert parse_amount("٣٠٠٫٥") == Money(30_050)  # the Arabic decimal mark
    assert parse_int(written_in("42", 0xFF10), 1, 100) == 42
    assert parse_int("²", 1, 100) == 2  # NFKC: a superscript two is a two
    assert parse_int("4.2", 1, 100) is None and parse_int("", 1, 100) is None
    assert parse_date(written_in("2026-12-29", 0x660)) == date(2026, 12, 29)
    assert canonical_digits("No digits here") == "No digits here"


async def test_a_second_account_with_foreign_digits_is_refused_and_cannot_self_cover(tmp_path):
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        jane = bot.person(3001, "Jane", "en")
        await verify(bot, jane, number=NUMBER)
        await buy_in_chat(jane, "JD Mall", "300", "3 ×")
        _, payload = await ask_by_link(jane)
        twin = bot.person(3999, "Twin", "en")  # Jane again, on another Telegram account
        done = await verify(bot, twin, number=written_in(NUMBER, 0x660))
        assert "already verified on another Telegram account" in done.text
        assert q(bot.db_path, "SELECT COUNT(*) FROM identities") == [(1,)]
        assert q(bot.db_path, "SELECT COUNT(*) FROM events WHERE kind ="
                              " 'identity.duplicate_refused'") == [(1,)]
        await twin.open_link(payload)
        review = await twin.reply()
        await twin.press(review, "Accept")
        await twin.next("answer")
        asked = await twin.next("edit")
        assert "verify your identity" in asked.text  # still unverified: cannot go further
        await twin.press(asked, "Verify now")
        await twin.next("answer")
        assert "verify your identity" in (await twin.reply()).text
        await twin.share_contact("+8613900139000", owner_id=twin.id)
        await twin.reply()
        await say_and_expect(twin, "Jane Smith", "")
        again = await say_and_expect(twin, written_in(NUMBER, 0x966), "another Telegram account")
        assert again.button_texts == []  # no income question: the review is never reached
        assert q(bot.db_path, "SELECT COUNT(*) FROM identities") == [(1,)]
        assert q(bot.db_path, "SELECT COUNT(*) FROM agreements") == [(0,)]


async def test_rows_stored_before_the_fix_raise_an_alert_that_reaches_operators(tmp_path):
    clock = FixedClock(NOW)
    path = tmp_path / "bot.db"
    db = await Database(path).open()
    await migrate(db, clock, target=6)  # the book as the last release left it
    await db.close()
    conn = sqlite3.connect(path)
    now = "2026-11-01T00:00:00.000000+00:00"
    for user, mask, phone in ((41, "١١٠١**********١٢٣٣", "+86*******8000"),
                              (42, "1101**********1233", "+8*****٨٠٠٠"),
                              (43, "1101**********1233", "+86*******8001")):
        conn.execute("INSERT INTO users (id, display_name, created_at, updated_at)"
                     " VALUES (?, ?, ?, ?)", (user, f"u{user}", now, now))
        conn.execute("INSERT INTO identities (user_id, legal_name, id_hash, id_mask,"
                     " phone_hash, phone_mask, birth_date, verified_at)"
                     " VALUES (?, '张三', ?, ?, ?, ?, '1990-05-17', ?)",
                     (user, f"h{user}", mask, f"p{user}", phone, now))
    conn.commit()
    conn.close()
    async with BotHarness(tmp_path, clock=clock, operator_ids=frozenset({9000})) as bot:
        olga = bot.person(9000, "Olga", "en")
        assert q(path, "SELECT subject, rule, severity, status FROM alerts ORDER BY id") == [
            ("user:41", "non_canonical_identity", "high", "open"),
            ("user:42", "non_canonical_identity", "high", "open")]  # 43 is canonical
        assert q(path, "SELECT COUNT(*) FROM events WHERE kind = 'alert.raised'") == [(2,)]
        alerts = [await olga.next("message", timeout=10) for _ in range(2)]
        assert all("non-ASCII digits" in a.text for a in alerts)
        assert {b for a in alerts for b in a.button_texts} >= {"🧊 Freeze user:41"}
    # Starting again tells nobody twice.
    async with BotHarness(tmp_path, clock=clock, operator_ids=frozenset({9000})) as bot:
        await bot.drained()
        assert q(path, "SELECT COUNT(*) FROM outbox WHERE kind = 'alert'") == [(2,)]
