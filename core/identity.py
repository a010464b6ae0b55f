"""Real-name verification (实名认证): resident identity numbers (GB 11643), legal names and
phone numbers. Numbers are kept only as a keyed hash plus a mask; nothing here logs."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.numerals import canonical_digits

ADULT_AGE = 18
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# Province-level codes that begin a resident identity number (GB/T 2260), plus 83 for the
# residence permits of Taiwan residents, whose numbers follow the same standard.
_PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
})


class IdentityErrorReason(StrEnum):
    FORMAT = "format"  # not 17 digits and a digit or X
    REGION = "region"  # no such province code
    BIRTH_DATE = "birth_date"  # not a real date, or in the future
    CHECKSUM = "checksum"  # the check character does not match
    MINOR = "minor"  # under 18 on the business date
    NAME = "name"  # not a plausible legal name
    PHONE = "phone"  # not a phone number


class IdentityError(ValueError):
    def __init__(self, reason: IdentityErrorReason) -> None:
        super().__init__(reason.value)  # never the value itself: it is personal data
        self.reason = reason


def check_character(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # 18 characters, upper-case X; never log or store this
    birth_date: date

    @property
    def mask(self) -> str:
        return mask_resident_id(self.number)

    def __repr__(self) -> str:  # keep the number out of tracebacks and debug output
        return f"ResidentId({self.mask})"

    __str__ = __repr__


def parse_resident_id(text: str, today: date) -> ResidentId:
    """Validate an 18-character resident identity number for an adult, as of ``today``."""
    # One canonical form (ASCII digits, upper-case X) before anything reads or hashes it:
    # ٣ and ３ are the same 3 as far as a person is concerned, and must be to the hash too.
    number = "".join(canonical_digits(text).split()).upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
        raise IdentityError(IdentityErrorReason.FORMAT)
    if int(number[:2]) not in _PROVINCES:
        raise IdentityError(IdentityErrorReason.REGION)
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise IdentityError(IdentityErrorReason.BIRTH_DATE) from None
    if born.year < 1900 or born > today:
        raise IdentityError(IdentityErrorReason.BIRTH_DATE)
    if check_character(number[:17]) != number[17]:
        raise IdentityError(IdentityErrorReason.CHECKSUM)
    if age_on(born, today) < ADULT_AGE:
        raise IdentityError(IdentityErrorReason.MINOR)
    return ResidentId(number, born)


def age_on(born: date, today: date) -> int:
    """Whole years; someone born on 29 February comes of age on 1 March in common years."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def mask_resident_id(number: str) -> str:
    return number[:4] + "*" * 10 + number[-4:]


_CJK_NAME = re.compile(r"^[\u3400-\u4dbf\u4e00-\u9fff]+(?:[·•][\u3400-\u4dbf\u4e00-\u9fff]+)*$")
_LATIN_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+)*\.?$")


def parse_legal_name(text: str) -> str:
    """2-30 characters of a real name: Chinese (with · for names like 阿依古丽·买买提) or
    Latin letters with spaces, hyphens, apostrophes and full stops."""
    name = " ".join(unicodedata.normalize("NFKC", text or "").split())
    name = name.replace("・", "·")
    if not 2 <= len(name) <= 30:
        raise IdentityError(IdentityErrorReason.NAME)
    if _CJK_NAME.match(name):
        return name
    letters = [c for c in name if c.isalpha()]
    if _LATIN_NAME.match(name) and len(letters) >= 2 and all(map(_is_latin, letters)):
        return name
    raise IdentityError(IdentityErrorReason.NAME)


def _is_latin(char: str) -> bool:
    return "LATIN" in unicodedata.name(char, "")


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***; Jane Smith → J*** S****."""
    if _CJK_NAME.match(name):
        return name[0] + "*" * (len(name) - 1)
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split())


def normalize_phone(text: str) -> str:
    """Telegram sends contacts' numbers in international form with or without '+'."""
    digits = re.sub(r"[\s\-()]", "", canonical_digits(text))
    digits = digits.removeprefix("+")
    if not re.fullmatch(r"[0-9]{8,15}", digits):
        raise IdentityError(IdentityErrorReason.PHONE)
    return "+" + digits


def mask_phone(phone: str) -> str:
    """+8613800138000 → +86*******8000: enough to recognise, too little to call. At least
    half the digits are always hidden, however short the number."""
    digits = phone.removeprefix("+")
    head, tail = (2, 4) if len(digits) >= 12 else (1, 2)
    return "+" + digits[:head] + "*" * (len(digits) - head - tail) + digits[-tail:]


def key_fingerprint(key: bytes) -> str:
    """Which key a book was written with, without revealing the key: the book stores this,
    and a bot started with another key refuses to start."""
    return hmac.new(key, b"daihuan: key fingerprint", hashlib.sha256).hexdigest()[:16]


class IdentityHasher:
    """Keyed hashes (HMAC-SHA256) so the same number matches itself and nothing else, and
    the stored hash says nothing without the key. New identities are hashed under the
    current key; after a rotation the previous keys still find the identities hashed under
    them, so one identity stays on one account."""

    def __init__(self, key: bytes, previous: tuple[bytes, ...] = ()) -> None:
        if any(len(k) < 32 for k in (key, *previous)):
            raise ValueError("identity hash key must be at least 32 bytes")
        self._key = key
        self._previous = previous

    @property
    def fingerprints(self) -> tuple[str, tuple[str, ...]]:
        """(the current key's, the previous keys')."""
        return key_fingerprint(self._key), tuple(key_fingerprint(k) for k in self._previous)

    def resident_id(self, resident: ResidentId) -> str:
        return _digest(self._key, b"resident-id:", resident.number)

    def resident_id_hashes(self, resident: ResidentId) -> list[str]:
        """The number's hash under every key the book may hold it under, current first."""
        return [_digest(k, b"resident-id:", resident.number)
                for k in (self._key, *self._previous)]


def _digest(key: bytes, domain: bytes, value: str) -> str:
    return hmac.new(key, domain + value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    """What verification keeps: the legal name (see docs/privacy.md for why), a keyed hash
    of the ID number and two masks. Not the number, not the birth date inside it (with the
    mask that would leave about two candidates for the number), not the phone number."""

    user_id: int
    legal_name: str
    id_hash: str
    id_mask: str
    phone_mask: str

    @property
    def name_mask(self) -> str:
        return mask_name(self.legal_name)

    def __repr__(self) -> str:
        return f"VerifiedIdentity(user_id={self.user_id}, {self.id_mask})"
