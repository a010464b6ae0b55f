"""A servicing run killed (SIGKILL) at any commit and started again ends in exactly the state
of an uninterrupted run (invariant 6): a real subprocess, killed at every commit point."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ledger_checks import assert_ledger_invariants, assert_receivables_match
from tests.support.servicing_book import standard_book
from tests.support.servicing_flows import state

ROOT = Path(__file__).resolve().parents[2]
DAYS = "2026-12-29,2026-12-30,2027-01-01"


def serve(path: Path, kill_at: int = 0, when: str = "never") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tests.support.servicing_killer", str(path), DAYS,
                           str(kill_at), when], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
async def template(db, uow, tmp_path):
    await standard_book(uow)
    await db.close()
    return db.path


@pytest.mark.sqlite_only("copies the book file at every kill point; restarting is the same"
                         " core code on both engines, and PostgreSQL's commit is atomic on"
                         " the server")
async def test_killed_anywhere_and_restarted_ends_in_the_same_state(template, tmp_path):
    reference = tmp_path / "reference.db"
    shutil.copy(template, reference)
    done = serve(reference)
    assert done.returncode == 0, done.stderr
    commits = int(done.stdout.strip().split("=")[1])
    assert commits > 10
    expected = state(reference)
    for kill_at in range(1, commits + 1):
        for when in ("before", "after"):
            crashed = tmp_path / f"crash-{kill_at}-{when}.db"
            shutil.copy(template, crashed)
            killed = serve(crashed, kill_at, when)
            assert killed.returncode == -9, (kill_at, when, killed.stderr)
            assert_ledger_invariants(crashed)  # the ledger holds after every crash
            restarted = serve(crashed)
            assert restarted.returncode == 0, restarted.stderr
            assert state(crashed) == expected, (kill_at, when)
            assert_receivables_match(crashed)
            crashed.unlink()
