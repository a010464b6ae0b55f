"""`daihuan demo`: the real bot and scripted people on the offline Bot API server tell the
whole story to the end, on a real SQLite book, in under a minute."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from bot.demo.story import JANE, LI, NARRATION, OLGA, run_demo
from bot.demo.transcript import Transcript
from tests.support.dbcheck import q
from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_to_the_end_and_leaves_the_book_it_tells(tmp_path):
    db = tmp_path / "demo.db"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "--speed", "0", "--keep",
                           str(db)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 60
    story = done.stdout
    for moment in ("Verified", "Bought: JD Mall", "Signed: agreement #1", "added to your wallet",
                   "Debited ¥100.00", "Could not debit", "last debit", "overdue",
                   "Alert #1", "Daily report", "instalment you cover, debited"):
        assert moment in story, moment
    assert "went wrong" not in story and done.stderr == ""
    assert f"database: {db}" in story
    assert_ledger_invariants(db)
    assert_receivables_match(db)
    balances = dict(q(db, "SELECT code, balance FROM accounts"))
    assert balances[f"wallet:{LI}"] == 0  # two top-ups of ¥100, two debits of ¥100
    assert balances[f"receivable:{JANE}"] == -10_000  # the defaulted instalment is hers
    assert balances["external:telegram_payments"] == -20_000
    assert q(db, "SELECT status FROM agreements") == [("defaulted",)]
    assert q(db, "SELECT status, COUNT(*) FROM outbox GROUP BY 1") == [
        ("sent", q(db, "SELECT COUNT(*) FROM outbox")[0][0])]
    assert q(db, "SELECT status FROM alerts") == [("acknowledged",)]
    assert q(db, "SELECT acked_by FROM alerts") == [(OLGA,)]
    assert (db.parent / "reports" / "daily-2027-03-07.png").read_bytes()[:4] == b"\x89PNG"


async def test_demo_in_chinese_and_never_over_an_existing_book(tmp_path):
    text = io.StringIO()
    transcript = Transcript(NARRATION["zh"], Console(file=text, width=100))
    db = await run_demo("zh", speed=0, keep=tmp_path / "zh.db", transcript=transcript)
    story = text.getvalue()
    assert "实名认证成功" in story and "已签署代还协议 #1" in story and "营业日 2027-03-07" in story
    assert "Verified" not in story and "\x1b[" not in story  # not a terminal: plain text
    assert q(db, "SELECT status FROM agreements") == [("defaulted",)]
    try:
        await run_demo("zh", speed=0, keep=db, transcript=transcript)
    except FileExistsError:
        pass
    else:
        raise AssertionError("the demo must not write over an existing book")


def test_demo_on_postgres_tells_the_same_story_and_only_on_an_empty_database(postgres_url):
    import os

    env = {**os.environ, "DATABASE_URL": postgres_url}
    done = subprocess.run([sys.executable, "-m", "bot", "demo", "--speed", "0"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    story = done.stdout
    for moment in ("Verified", "Signed: agreement #1", "Debited ¥100.00", "Alert #1",
                   "Daily report"):
        assert moment in story, moment
    assert "went wrong" not in story and done.stderr == ""
    assert "database:postgresql://daihuan@" in "".join(story.split())  # wrapped to the width
    assert_ledger_invariants(postgres_url)
    assert_receivables_match(postgres_url)
    balances = dict(q(postgres_url, "SELECT code, balance FROM accounts"))
    assert balances[f"wallet:{LI}"] == 0 and balances[f"receivable:{JANE}"] == -10_000
    assert q(postgres_url, "SELECT status FROM agreements") == [("defaulted",)]
    assert q(postgres_url, "SELECT status FROM alerts") == [("acknowledged",)]

    again = subprocess.run([sys.executable, "-m", "bot", "demo", "--speed", "0"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "is not empty" in again.stderr
    assert "the demo starts a fresh book" in again.stderr
    assert q(postgres_url, "SELECT COUNT(*) FROM agreements") == [(1,)]  # nothing added
