"""The book knows which ID_HASH_KEY it was written with: a bot or command started with
another key refuses and says what to do, and the documented rotation (new key, old key kept
in ID_HASH_KEY_PREVIOUS) keeps duplicates refused and old links opening."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.clock import FixedClock
from tests.support.chat_flows import (
    BORROWER_ID,
    FRIEND_ID,
    ask_by_link,
    buy_in_chat,
    say_and_expect,
    verify,
)
from tests.support.dbcheck import q
from tests.support.harness import TEST_ID_KEY, BotHarness

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 29, 2, tzinfo=UTC)
NEW_KEY = "n" * 48
LINK = re.compile(r"start=(c_[A-Za-z0-9_-]{32})")


def daihuan(tmp_path, *args, key=TEST_ID_KEY, previous=""):
    env = {**os.environ, "DATABASE_PATH": str(tmp_path / "bot.db"), "ID_HASH_KEY": key,
           "ID_HASH_KEY_PREVIOUS": previous, "TELEGRAM_BOT_TOKEN": ""}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60)


async def test_another_key_is_refused_and_rotation_keeps_identities_and_links(tmp_path):
    # Written with the test key: Jane verified, a bill, an open link.
    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        jane = bot.person(3001, "Jane", "en")
        await verify(bot, jane)
        await buy_in_chat(jane, "JD Mall", "300", "3 ×")
        _, link = await ask_by_link(jane)
    assert len(q(tmp_path / "bot.db", "SELECT fingerprint FROM key_fingerprints")) == 1

    # Another key: refused, for the command line and the bot alike, with what to do.
    refused = daihuan(tmp_path, "migrate", key=NEW_KEY)
    assert refused.returncode == 2
    assert "written with another ID_HASH_KEY" in refused.stderr
    assert "ID_HASH_KEY_PREVIOUS" in refused.stderr and NEW_KEY not in refused.stderr
    from storage.keys import KeyMismatch

    with pytest.raises(KeyMismatch):
        async with BotHarness(tmp_path, clock=FixedClock(NOW), id_hash_key=NEW_KEY):
            pass

    # Rotated as documented: the new key, the old one kept.
    async with BotHarness(tmp_path, clock=FixedClock(NOW), id_hash_key=NEW_KEY,
                          id_hash_key_previous=TEST_ID_KEY) as bot:
        jane = bot.person(3001, "Jane", "en")
        listed = await say_and_expect(jane, "/requests", "Your cover requests")
        assert LINK.search(listed.text).group(1) == link  # the link the friend holds
        twin = bot.person(3999, "Twin", "en")
        assert "another Telegram account" in (await verify(bot, twin, number=BORROWER_ID)).text
        li = bot.person(3002, "Li", "en")
        await li.open_link(link)
        assert "asks you to cover" in (await li.reply()).text
        assert "Verified" in (await verify(bot, li, number=FRIEND_ID, name="Li Si")).text
    assert len(q(tmp_path / "bot.db", "SELECT fingerprint FROM key_fingerprints")) == 2
    # Dropping the old key after rotating is refused too: its hashes are still in the book.
    assert daihuan(tmp_path, "migrate", key=NEW_KEY).returncode == 2
    ok = daihuan(tmp_path, "migrate", key=NEW_KEY, previous=TEST_ID_KEY)
    assert ok.returncode == 0, ok.stderr


def test_a_fresh_book_takes_the_first_key(tmp_path):
    done = daihuan(tmp_path, "migrate", key=NEW_KEY)
    assert done.returncode == 0, done.stderr
    assert daihuan(tmp_path, "migrate", key=NEW_KEY).returncode == 0
    assert daihuan(tmp_path, "migrate", key="x" * 40).returncode == 2


async def test_a_book_from_before_fingerprints_is_checked_against_its_invitations(tmp_path):
    """Upgraded books record no key yet: the first key to come is not trusted blindly, it
    must have made the book's invitation tokens."""
    import sqlite3

    async with BotHarness(tmp_path, clock=FixedClock(NOW)) as bot:
        jane = bot.person(3001, "Jane", "en")
        await verify(bot, jane)
        await buy_in_chat(jane, "JD Mall", "300", "3 ×")
        await ask_by_link(jane)
    conn = sqlite3.connect(tmp_path / "bot.db")
    conn.execute("DELETE FROM key_fingerprints")  # as the book was before migration 0011
    conn.commit()
    conn.close()
    wrong = daihuan(tmp_path, "migrate", key=NEW_KEY)
    assert wrong.returncode == 2 and "invitations were not made with" in wrong.stderr
    assert q(tmp_path / "bot.db", "SELECT COUNT(*) FROM key_fingerprints") == [(0,)]
    assert daihuan(tmp_path, "migrate").returncode == 0  # the key that made them
    assert len(q(tmp_path / "bot.db", "SELECT fingerprint FROM key_fingerprints")) == 1
