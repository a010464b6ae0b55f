"""CSV files operators load: repayment history and bills issued elsewhere. Parsing is pure and
strict: every bad row is reported with its line number, and a file with any bad row loads
nothing."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date

from core.bills import PLANS, PurchaseError, parse_merchant
from core.money import Money, MoneyError, parse_amount
from core.numerals import parse_date, parse_int

REFERENCE = re.compile(r"[\x21-\x7e]{1,64}")
HISTORY_COLUMNS = ("user_id", "bill_ref", "due_date", "paid_date", "amount")
BILL_COLUMNS = ("bill_ref", "user_id", "merchant", "amount", "instalments", "purchase_date")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.column}: {self.message}"


class ImportFailed(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} bad row(s)")
        self.errors = errors


@dataclass(frozen=True, slots=True)
class HistoryRow:
    line: int
    user_id: int
    bill_ref: str
    due_date: date
    paid_date: date | None
    amount: Money


@dataclass(frozen=True, slots=True)
class BillRow:
    line: int
    bill_ref: str
    user_id: int
    merchant: str
    amount: Money
    plan: int
    purchase_date: date


class _Row:
    """One CSV row being read; each failed field adds an error instead of stopping."""

    def __init__(self, line: int, values: dict[str, str], errors: list[RowError]) -> None:
        self.line, self.values, self.errors = line, values, errors
        self.ok = True

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        self.errors.append(RowError(self.line, column, message))

    def text(self, column: str, max_len: int = 64) -> str:
        value = (self.values.get(column) or "").strip()
        if not value or len(value) > max_len:
            self.fail(column, f"required, at most {max_len} characters")
        return value

    def reference(self, column: str) -> str:
        """A reference becomes part of a ledger idempotency key: printable ASCII only."""
        value = (self.values.get(column) or "").strip()
        if not REFERENCE.fullmatch(value):
            self.fail(column, "required: 1-64 letters, digits or ASCII punctuation, no spaces")
        return value

    def user_id(self, column: str = "user_id") -> int:
        value = parse_int(self.values.get(column), 1, 2**53 - 1)
        if value is None:
            self.fail(column, "must be a Telegram user id (a positive whole number)")
            return 0
        return value

    def day(self, column: str, today: date, optional: bool = False) -> date | None:
        value = (self.values.get(column) or "").strip()
        if not value and optional:
            return None
        parsed = parse_date(value)
        if parsed is None:
            self.fail(column, "must be a date as YYYY-MM-DD")
            return None
        if parsed > today or parsed.year < 2000:
            self.fail(column, "must be a real past date as YYYY-MM-DD")
            return None
        return parsed

    def money(self, column: str) -> Money:
        try:
            return parse_amount(self.values.get(column) or "")
        except MoneyError as error:
            self.fail(column, f"not an amount in yuan ({error.reason.value})")
            return Money(0)


def _rows(text: str, columns: tuple[str, ...]) -> tuple[list[_Row], list[RowError]]:
    errors: list[RowError] = []
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(h.strip() for h in (reader.fieldnames or []))
    if set(header) != set(columns) or len(header) != len(columns):
        raise ImportFailed([RowError(1, "header", f"expected columns {','.join(columns)}")])
    reader.fieldnames = list(header)
    rows = []
    for values in reader:
        line = reader.line_num
        if None in values or any(v is None for v in values.values()):
            errors.append(RowError(line, "row", f"expected {len(columns)} fields"))
            continue
        rows.append(_Row(line, values, errors))
    if not rows and not errors:
        errors.append(RowError(2, "row", "the file has no rows"))
    return rows, errors


def parse_history(text: str, today: date) -> list[HistoryRow]:
    rows, errors = _rows(text, HISTORY_COLUMNS)
    parsed, seen = [], set()
    for row in rows:
        item = HistoryRow(row.line, row.user_id(), row.text("bill_ref"),
                          row.day("due_date", today) or today,
                          row.day("paid_date", today, optional=True), row.money("amount"))
        key = (item.user_id, item.bill_ref, item.due_date)
        if row.ok and key in seen:
            row.fail("bill_ref", "the same user, bill and due date appear twice")
        seen.add(key)
        parsed.append(item)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    return parsed


def parse_bills(text: str, today: date) -> list[BillRow]:
    rows, errors = _rows(text, BILL_COLUMNS)
    parsed, seen = [], set()
    for row in rows:
        merchant = ""
        try:
            merchant = parse_merchant(row.values.get("merchant") or "")
        except PurchaseError:
            row.fail("merchant", "required, 1-40 printable characters")
        plan = parse_int(row.values.get("instalments"), 1, 12) or 0
        if plan not in PLANS:
            row.fail("instalments", "must be 1, 3, 6 or 12")
        item = BillRow(row.line, row.reference("bill_ref"), row.user_id(), merchant,
                       row.money("amount"), plan, row.day("purchase_date", today) or today)
        if row.ok and item.bill_ref in seen:
            row.fail("bill_ref", "appears twice in this file")
        seen.add(item.bill_ref)
        parsed.append(item)
    if errors:
        raise ImportFailed(sorted(errors, key=lambda e: e.line))
    return parsed
