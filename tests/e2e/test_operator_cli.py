"""The operators' subcommands, run as a person would: a real process on a real database."""

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from core.bills import add_months
from tests.support.dbcheck import q

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def daihuan(tmp_path, engine, request):
    """`python -m bot …` in a fresh folder, on the test's engine: a SQLite file, or an
    empty PostgreSQL database named by DATABASE_URL, as an operator would set it."""
    env = {k: v for k, v in os.environ.items() if not k.isupper() or k in ("PATH", "HOME")}
    env["DATABASE_PATH"] = str(tmp_path / "ops.db")
    if engine == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    run.db = SimpleNamespace(url=env["DATABASE_URL"]) if engine == "postgres" \
        else tmp_path / "ops.db"
    run.tmp = tmp_path
    run.env = env
    run.engine = engine
    return run


def untouched(daihuan) -> bool:
    """Nothing was created: no file, or no table in the PostgreSQL database."""
    if daihuan.engine == "sqlite":
        return not daihuan.db.exists()
    return q(daihuan.db, "SELECT COUNT(*) FROM information_schema.tables"
                         " WHERE table_schema = 'public'") == [(0,)]


def test_import_examples(daihuan):
    history = daihuan("import-history", str(ROOT / "examples" / "history.csv"))
    assert history.returncode == 0, history.stderr
    assert "loaded 4 history row(s) for 2 user(s)" in history.stdout
    bills = daihuan("import-bills", str(ROOT / "examples" / "bills.csv"))
    assert bills.returncode == 0, bills.stderr
    assert "loaded 2 bill(s); 0 were already loaded" in bills.stdout
    again = daihuan("import-bills", str(ROOT / "examples" / "bills.csv"))
    assert "loaded 0 bill(s); 2 were already loaded" in again.stdout
    assert q(daihuan.db, "SELECT COUNT(*) FROM instalments") == [(9,)]
    assert q(daihuan.db, "SELECT -balance FROM accounts WHERE code = 'receivable:1001'") == [
        (239900,)]


def test_bad_rows_are_reported_by_line_and_nothing_loads(daihuan):
    path = daihuan.tmp / "bad.csv"
    path.write_text("bill_ref,user_id,merchant,amount,instalments,purchase_date\n"
                    "A,1001,Shop,100,3,2026-10-01\n"
                    "B,abc,Shop,12.345,5,2026-13-01\n"
                    "A,1001,Shop,100,3,2026-10-01\n", encoding="utf-8")
    result = daihuan("import-bills", str(path))
    assert result.returncode == 1
    assert "line 3: user_id" in result.stderr and "line 3: amount" in result.stderr
    assert "line 3: instalments" in result.stderr and "line 3: purchase_date" in result.stderr
    assert "line 4: bill_ref: appears twice" in result.stderr
    assert "nothing was loaded" in result.stderr
    assert untouched(daihuan)  # refused before the database was even opened
    clash = daihuan.tmp / "clash.csv"
    clash.write_text("bill_ref,user_id,merchant,amount,instalments,purchase_date\n"
                     "A,1001,Shop,100,3,2026-10-01\n", encoding="utf-8")
    assert daihuan("import-bills", str(clash)).returncode == 0
    clash.write_text("bill_ref,user_id,merchant,amount,instalments,purchase_date\n"
                     "B,1002,Shop,50,1,2026-10-01\n"
                     "A,1001,Shop,200,3,2026-10-01\n", encoding="utf-8")
    result = daihuan("import-bills", str(clash))
    assert result.returncode == 1
    assert "line 3: bill_ref: already imported with different content" in result.stderr
    assert q(daihuan.db, "SELECT ref FROM bills") == [("import:A",)]  # B was not loaded


def test_wrong_header(daihuan):
    path = daihuan.tmp / "h.csv"
    path.write_text("user,bill,due,paid,amount\n1,a,2025-01-01,,1\n")
    result = daihuan("import-history", str(path))
    assert result.returncode == 1 and "line 1: header: expected columns" in result.stderr


def test_credit_wallet_posts_once_per_ref(daihuan):
    first = daihuan("credit-wallet", "42", "100.50", "--ref", "BANK-7")
    assert first.returncode == 0, first.stderr
    assert "credited ¥100.50 to user 42" in first.stdout
    second = daihuan("credit-wallet", "42", "100.50", "--ref", "BANK-7")
    assert "already recorded" in second.stdout
    assert q(daihuan.db, "SELECT balance FROM accounts WHERE code = 'wallet:42'") == [(10050,)]
    bad = daihuan("credit-wallet", "42", "-5", "--ref", "X")
    assert bad.returncode == 1 and "not an amount" in bad.stderr


def test_references_must_be_printable_ascii(daihuan):
    path = daihuan.tmp / "refs.csv"
    path.write_text("bill_ref,user_id,merchant,amount,instalments,purchase_date\n"
                    "订单001,1001,Shop,100,3,2026-10-01\n", encoding="utf-8")
    result = daihuan("import-bills", str(path))
    assert result.returncode == 1 and "line 2: bill_ref" in result.stderr
    assert "Traceback" not in result.stderr
    assert daihuan("credit-wallet", "42", "1", "--ref", "A\tB").returncode == 1
    assert daihuan("credit-wallet", "42", "1", "--ref", "R1").returncode == 0
    clash = daihuan("credit-wallet", "42", "2", "--ref", "R1")
    assert clash.returncode == 1 and "different user or amount" in clash.stderr
    assert "Traceback" not in clash.stderr


def test_servicing_command_runs_once_per_date_and_reports(daihuan):
    assert daihuan("import-bills", str(ROOT / "examples" / "bills.csv")).returncode == 0
    first = daihuan("servicing", "--date", "2026-11-15")
    assert first.returncode == 0, first.stderr
    assert "servicing 2026-11-15: debited 0" in first.stdout
    # JD-2026-1001's first instalment is due that day, but the date is past (the test runs
    # on the real clock): a late run plans no stale reminders, and still marks overdue.
    assert "reminders planned 0" in first.stdout
    next_day = daihuan("servicing", "--date", "2026-11-16")
    assert "overdue 1" in next_day.stdout and "reminders planned 0" in next_day.stdout
    again = daihuan("servicing", "--date", "2026-11-15")
    assert "already ran to the end" in again.stdout
    status = daihuan("servicing", "--status")
    assert "2026-11-15     yes" in status.stdout and "outbox: pending" in status.stdout
    assert daihuan("servicing", "--date", "2999-01-01").returncode == 1
    assert daihuan("servicing", "--date", "15/11/2026").returncode == 1


def test_audit_export_round_trips_and_filters_by_user(daihuan):
    import csv
    import json

    assert daihuan("import-bills", str(ROOT / "examples" / "bills.csv")).returncode == 0
    assert daihuan("credit-wallet", "1002", "50", "--ref", "B-1").returncode == 0
    out = daihuan.tmp / "audit.jsonl"
    done = daihuan("audit", "export", "--from", "2000-01-01", "--to", "2999-12-31",
                   "--output", str(out))
    assert done.returncode == 0, done.stderr
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    stored = q(daihuan.db, "SELECT id, occurred_at, actor, subject, kind, data, parties"
                           " FROM events ORDER BY id")
    assert [(e["id"], e["occurred_at"], e["actor"], e["subject"], e["kind"], e["data"],
             e["parties"]) for e in exported] == [
        (i, t, a, s, k, json.loads(d), json.loads(p)) for i, t, a, s, k, d, p in stored]
    mine = daihuan("audit", "export", "--from", "2000-01-01", "--to", "2999-12-31",
                   "--user", "1002", "--format", "csv")
    rows = list(csv.reader(mine.stdout.splitlines()))
    assert rows[0] == ["id", "occurred_at", "actor", "subject", "kind", "data", "parties"]
    # The bill, each of its instalments and the top-up: every event that names 1002.
    assert {r[4] for r in rows[1:]} == {"bill.created", "instalment.scheduled",
                                        "wallet.topped_up"}
    assert all("1002" in r[6].split() for r in rows[1:])
    assert daihuan("audit", "export", "--from", "2026-02-01", "--to", "2026-01-01"
                   ).returncode == 1


def _bill_overdue_since(days_late: int) -> tuple[str, date]:
    """A one-bill CSV whose first instalment fell due `days_late` days before today in
    Shanghai and whose second is weeks away. The CLI runs on the real clock and the risk
    rules look at the book as of today, so fixed dates would raise more alerts as months
    pass; this bill keeps exactly one instalment overdue whenever the test runs."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    for late in range(days_late, days_late + 4):  # month ends: not every day is a due day
        due = today - timedelta(days=late)
        for back in range(27, 32):
            bought = due - timedelta(days=back)
            if add_months(bought, 1) == due:
                return (f"bill_ref,user_id,merchant,amount,instalments,purchase_date\n"
                        f"JD-LATE-1,1001,京东自营,2399.00,6,{bought.isoformat()}\n"), due
    raise AssertionError("no purchase date gives that due date")


@pytest.mark.sqlite_only("the end-to-end harness opens SQLite books only, for now")
async def test_servicing_from_the_command_line_runs_the_rules_and_plans_the_report(daihuan):
    """`daihuan servicing` is the daily run itself: servicing, every risk rule, the daily
    report; the report and the alerts wait in the outbox, and the running bot sends them."""
    from tests.support.harness import BotHarness

    daihuan.env["OPERATOR_IDS"] = "9000,9001"
    daihuan.env["RISK_OVERDUE_DAYS"] = "1"
    bills, due = _bill_overdue_since(5)
    (daihuan.tmp / "late.csv").write_text(bills, encoding="utf-8")
    assert daihuan("import-bills", str(daihuan.tmp / "late.csv")).returncode == 0
    day = (due + timedelta(days=5)).isoformat()  # JD-LATE-1 1/6 is 5 days late that day
    done = daihuan("servicing", "--date", day)
    assert done.returncode == 0, done.stderr
    assert "risk rules raised 1 alert(s)" in done.stdout, done.stdout
    assert f"the daily report for {day} planned for 2 operator(s)" in done.stdout
    assert q(daihuan.db, "SELECT rule, subject FROM alerts") == [("overdue", "instalment:1")]
    # An older date run late: its counts, the rules as of today (the alert stands), and no
    # report labelled with a date older than the one already reported.
    older = daihuan("servicing", "--date", (due + timedelta(days=3)).isoformat())
    assert "no daily report (a later date has run" in older.stdout, older.stdout
    assert q(daihuan.db, "SELECT id, status FROM alerts") == [(1, "open")]
    assert q(daihuan.db, "SELECT recipient_id, kind FROM outbox ORDER BY id") == [
        (9000, "alert"), (9001, "alert"), (9000, "daily_report"), (9001, "daily_report"),
        (9000, "daily_network"), (9001, "daily_network")]
    async with BotHarness(daihuan.tmp, operator_ids=frozenset({9000, 9001}),
                          database_path=daihuan.db) as bot:
        olga = bot.person(9000, "Olga", "en")
        alert = await olga.next("message", timeout=10)
        assert "Alert #1" in alert.text and "overdue" in alert.text
        report = await olga.next("photo", timeout=10)
        assert report.text.startswith(f"Daily report {day}")
        assert report.params["photo"]["content"].startswith(b"\x89PNG")
        assert (await olga.next("message", timeout=10)).text.startswith("Network")
    assert (daihuan.tmp / "reports" / f"daily-{day}.png").exists()


def test_migrate_names_the_book_and_its_version(daihuan):
    done = daihuan("migrate")
    assert done.returncode == 0, done.stderr
    where = daihuan.env.get("DATABASE_URL") or daihuan.env["DATABASE_PATH"]
    assert f"database {where} is at schema version" in done.stdout
    again = daihuan("migrate")
    assert again.stdout == done.stdout  # nothing left to apply


def test_a_database_url_is_checked_and_its_password_never_shown(daihuan):
    daihuan.env["DATABASE_URL"] = "mysql://ops:s3cret-pw@127.0.0.1/book"
    wrong = daihuan("migrate")
    assert wrong.returncode != 0 and "DATABASE_URL" in wrong.stderr
    assert "must be a PostgreSQL URL" in wrong.stderr and "s3cret-pw" not in wrong.stderr
    daihuan.env["DATABASE_URL"] = "postgresql://ops:s3cret-pw@127.0.0.1:1/book"  # no server
    unreachable = daihuan("migrate")
    assert unreachable.returncode == 2, unreachable.stderr
    assert "cannot reach postgresql://ops:***@127.0.0.1:1/book" in unreachable.stderr
    assert "s3cret-pw" not in unreachable.stderr + unreachable.stdout
    assert "Traceback" not in unreachable.stderr


@pytest.mark.postgres_only("a PostgreSQL book is backed up with pg_dump")
def test_backup_and_restore_on_postgres_name_the_commands_to_use(daihuan):
    backup = daihuan("backup", str(daihuan.tmp / "b.db"))
    assert backup.returncode == 1
    assert "pg_dump --format=custom" in backup.stderr and daihuan.env["DATABASE_URL"] in \
        backup.stderr
    restore = daihuan("restore", str(daihuan.tmp / "b.db"))
    assert restore.returncode == 1 and "pg_restore" in restore.stderr
    assert not (daihuan.tmp / "b.db").exists()
