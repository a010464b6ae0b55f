"""Backups taken while writes go on restore to a database whose ledger balances."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from core.ledger import AccountKind, AccountSpec, Transfer
from core.money import Money
from storage.backup import BackupRefused, backup, check, restore
from storage.ledger import GroupCommitLedger
from tests.support.dbcheck import q
from tests.support.ledger_checks import assert_ledger_invariants

ROOT = Path(__file__).resolve().parents[2]
# SQLite's online backup of a file; PostgreSQL's backups are pg_dump's (test_pg_backup.py).
pytestmark = pytest.mark.sqlite_only("SQLite's backup API on a database file")


async def test_backup_mid_load_restores_balanced(db, uow, clock, tmp_path):
    async with uow() as tx:
        bank = await tx.ledger.open_account(AccountSpec("external:bank", AccountKind.EXTERNAL))
        wallets = [await tx.ledger.open_account(AccountSpec.wallet(i)) for i in range(20)]
        await tx.commit()
    ledger = GroupCommitLedger(db, clock)
    stop = asyncio.Event()

    async def load(k):
        n = 0
        while not stop.is_set():
            await ledger.post(Transfer.between(f"load:{k}:{n}", "topup", bank.id,
                                               wallets[(k + n) % 20].id, Money(1 + n % 97)))
            n += 1

    writers = [asyncio.create_task(load(k)) for k in range(8)]
    await asyncio.sleep(0.2)
    copies = []
    for i in range(3):  # several backups while the writers keep going
        target = tmp_path / f"backup-{i}.db"
        await backup(db, target)
        copies.append(target)
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*writers)
    for copy in copies:
        assert check(copy) >= 1
        restored = tmp_path / f"restored-{copy.stem}.db"
        restore(copy, restored)
        assert_ledger_invariants(restored)
        assert q(restored, "SELECT COUNT(*) FROM transfers")[0][0] > 0


def test_restore_refuses_what_it_cannot_trust(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    for bad in (junk, tmp_path / "missing.db"):
        try:
            check(bad)
        except BackupRefused:
            continue
        raise AssertionError(f"{bad} was accepted")


def test_backup_and_restore_commands(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_PATH": str(tmp_path / "live.db")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)

    assert run("credit-wallet", "7", "12.50", "--ref", "R1").returncode == 0
    made = run("backup", str(tmp_path / "b.db"))
    assert made.returncode == 0, made.stderr
    assert run("backup", str(tmp_path / "b.db")).returncode == 1  # never overwrites
    assert run("credit-wallet", "7", "1", "--ref", "R2").returncode == 0
    back = run("restore", str(tmp_path / "b.db"))
    assert back.returncode == 0, back.stderr
    assert q(tmp_path / "live.db", "SELECT balance FROM accounts WHERE code = 'wallet:7'") == [
        (1250,)]
    assert run("restore", str(tmp_path / "nothing.db")).returncode == 1
