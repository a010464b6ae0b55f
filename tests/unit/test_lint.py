"""The tree stays ruff-clean and ``core`` stays pure: both checked on every run."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_is_clean():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--quiet", str(ROOT)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_imports_no_transport_or_storage():
    forbidden = re.compile(r"^\s*(import|from)\s+(telegram|aiosqlite|sqlite3|storage|bot)\b",
                           re.MULTILINE)
    offenders = [str(p) for p in (ROOT / "core").rglob("*.py") if forbidden.search(p.read_text())]
    assert offenders == []


def test_storage_does_not_import_the_bot():
    forbidden = re.compile(r"^\s*(import|from)\s+(telegram|bot)\b", re.MULTILINE)
    offenders = [str(p) for p in (ROOT / "storage").rglob("*.py")
                 if forbidden.search(p.read_text())]
    assert offenders == []


def test_no_float_near_money():
    pattern = re.compile(r"float\(|: float|-> float")
    offenders = [f"{p}:{n}" for d in ("core", "storage") for p in (ROOT / d).rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_no_code_path_updates_or_deletes_events_or_postings():
    """The event log and the ledger are append-only: the schema refuses it, and no code
    even tries (migrations define the refusing triggers, so they are not searched)."""
    pattern = re.compile(r"(UPDATE\s+(events|transfers|postings)\b|DELETE\s+FROM\s+"
                         r"(events|transfers|postings)\b)", re.IGNORECASE)
    offenders = [str(p) for d in ("core", "storage", "bot") for p in (ROOT / d).rglob("*.py")
                 if pattern.search(p.read_text())]
    assert offenders == []


def test_digits_are_matched_as_ascii_only():
    """``\\d``, ``isdigit()`` and ``isdecimal()`` accept digits of every script (٣, ३, ３), so
    one number could take several forms: code reads numbers through core.numerals and
    matches ``[0-9]``. Log redaction is the one place that wants every script on purpose."""
    pattern = re.compile(r"\\d(?!_)|\.isdigit\(|\.isdecimal\(|\.isnumeric\(")
    allowed = {ROOT / "bot" / "logs.py", ROOT / "core" / "numerals.py"}
    offenders = [f"{p}:{n}" for d in ("core", "storage", "bot") for p in (ROOT / d).rglob("*.py")
                 if p not in allowed
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if pattern.search(line.replace("[^\\W\\d_]", ""))]
    assert offenders == []


def test_dates_of_instants_are_taken_in_the_business_timezone():
    """``instant.date()`` on a UTC time gives the UTC day: a 06:00 debit in Shanghai would
    show as the day before. Dates of instants come from core.clock.business_date; the few
    ``.date()`` left are on times already converted to the platform's timezone."""
    allowed = {ROOT / "core" / "clock.py": 1, ROOT / "bot" / "formatting.py": 1,
               ROOT / "bot" / "web.py": 3}
    found = {p: p.read_text().count(".date()") for d in ("core", "storage", "bot")
             for p in (ROOT / d).rglob("*.py") if ".date()" in p.read_text()}
    assert found == allowed


def test_transfers_are_named_through_the_ledger_vocabulary():
    """Every transfer the product posts takes its kind from TransferKind and its key from
    a builder in core/accounts.py: no key or kind is spelled out where money moves."""
    spelled = re.compile(r"Transfer(\.between)?\(\s*f?\"|, \"(topup|repayment|debit|purchase"
                         r"|reversal)\",")
    offenders = [f"{p}:{n}" for d in ("core", "bot", "storage") for p in (ROOT / d).rglob("*.py")
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if spelled.search(line)]
    assert offenders == []


def test_no_test_module_imports_another():
    """What tests share lives in tests/support; a test module is imported by pytest only."""
    importing = re.compile(r"^\s*(from|import)\s+tests\.(unit|storage|e2e)\b|tests\.test_",
                           re.MULTILINE)
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("*.py")
                 if importing.search(p.read_text())]
    assert offenders == []
    assert not list((ROOT / "tests").glob("test_*.py")), "tests live in unit/, storage/, e2e/"


def test_the_docs_name_tests_and_files_that_exist():
    """docs/ and the README point at the test that proves each rule and the file where it
    lives: every such path exists, and every named test is defined in its file."""
    named = re.compile(r"`((?:tests|core|bot|storage|bench)/[A-Za-z0-9_/.-]+\.py)(?:::(\w+))?`")
    missing = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path, test in named.findall(doc.read_text()):
            file = ROOT / path
            if not file.exists():
                missing.append(f"{doc.name}: {path}")
            elif test and not re.search(rf"def {test}\b", file.read_text()):
                missing.append(f"{doc.name}: {path}::{test}")
    assert missing == []
