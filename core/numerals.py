"""Numbers as people type them, made canonical before anything reads them.

Telegram clients send whatever the keyboard produced: full-width digits from a Chinese IME
(１２３), Arabic-Indic (٣) or Devanagari (३) digits, superscripts. Python's ``\\d``,
``str.isdigit()`` and ``int()`` accept many of these, so without care one number takes
several forms and, once hashed, several fingerprints: the same ID number could verify on two
accounts. So every number a person types (an ID or phone number, an amount, a user id, a
date) goes through ``canonical_digits`` first, and after it only ASCII ``0-9`` count as
digits: patterns use ``[0-9]``, never ``\\d``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

# Separators some keyboards type with their digits: Arabic decimal and thousands marks.
_SEPARATORS = str.maketrans({"\u066b": ".", "\u066c": ","})
_INTEGER = re.compile(r"-?[0-9]{1,19}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def canonical_digits(text: str) -> str:
    """NFKC (full-width forms, superscripts, circled digits → ASCII), then every remaining
    decimal digit of any script → its ASCII digit. Other characters are kept as they are,
    for the caller's own pattern to accept or refuse."""
    folded = unicodedata.normalize("NFKC", text or "").translate(_SEPARATORS)
    if folded.isascii():
        return folded
    return "".join(_ascii_digit(c) for c in folded)


def _ascii_digit(char: str) -> str:
    if char.isascii():
        return char
    value = unicodedata.decimal(char, None)
    return str(value) if value is not None else char


def parse_int(text: str | None, minimum: int, maximum: int) -> int | None:
    """A whole number a person typed, within ``minimum..maximum``; None for anything else
    (empty, signs in the wrong place, decimals, out of range)."""
    value = canonical_digits(text or "").strip()
    if not _INTEGER.fullmatch(value):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def parse_date(text: str | None) -> date | None:
    """A calendar date a person typed as YYYY-MM-DD (in any script's digits), or None."""
    value = canonical_digits(text or "").strip()
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
