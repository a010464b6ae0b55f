"""Store only what is needed: after verification the book holds a keyed hash of the ID
number and two masks, and nothing from which the number can be narrowed down to a few
candidates by someone holding a copy of the book but not the key."""

from datetime import date, datetime

from core.identity import _WEIGHTS, check_character
from core.services.verification import verify
from tests.support.dbcheck import columns, dump
from tests.support.idnumbers import resident_id
from tests.support.servicing_book import HASHER

NUMBER = resident_id(date(1990, 5, 17), region="110105", sequence="123")


async def test_no_column_keeps_the_number_or_its_birth_date(db, uow):
    from core.identity import parse_resident_id

    async with uow() as tx:
        await tx.users.upsert_seen(1, "Jane", "en")
        await tx.commit()
    await verify(uow, HASHER, user_id=1, phone="+8613800138000", legal_name="Jane Smith",
                 resident=parse_resident_id(NUMBER, date(2026, 11, 29)))
    text = dump(db)
    for secret in (NUMBER, NUMBER[6:14], "1990-05-17", "13800138000"):
        assert secret not in text
    assert columns(db, "identities") == ["user_id", "legal_name", "id_hash", "id_mask",
                                         "phone_mask", "verified_at"]


def candidates(mask: str, verified_on: date) -> int:
    """ID numbers consistent with a stored mask (digits 1-4 and 15-18 shown) for someone
    without the key: any county code 01-99 in digits 5-6, any real birth date from 1900 to
    18 years before verification in digits 7-14, and the shown check character."""
    head, tail = mask[:4], mask[-4:]
    # The check character is linear in the digits: count county codes per residue mod 11.
    by_residue = [0] * 11
    for county in range(1, 100):
        a, b = divmod(county, 10)
        by_residue[(a * _WEIGHTS[4] + b * _WEIGHTS[5]) % 11] += 1
    latest = date(verified_on.year - 18, verified_on.month, min(verified_on.day, 28))
    total = 0
    day = date(1900, 1, 1)
    while day <= latest:
        known = head + "00" + day.strftime("%Y%m%d") + tail[:3]
        base = sum(int(d) * w for d, w in zip(known, _WEIGHTS, strict=True)) % 11
        total += sum(count for residue, count in enumerate(by_residue)
                     if check_character_for((base + residue) % 11) == tail[3])
        day = date.fromordinal(day.toordinal() + 1)
    return total


def check_character_for(residue: int) -> str:
    return "10X98765432"[residue]


def test_one_stored_row_leaves_at_least_100_000_candidates():
    mask = NUMBER[:4] + "*" * 10 + NUMBER[-4:]
    assert check_character_for(sum(int(d) * w for d, w in zip(NUMBER[:17], _WEIGHTS,
                                                               strict=True)) % 11) == \
        check_character(NUMBER[:17])  # the counting shortcut agrees with the standard
    count = candidates(mask, datetime(2026, 11, 29).date())
    assert count >= 100_000, count
    # With the birth date beside the mask, as the book kept it before, only the county
    # code was unknown: a handful of candidates.
    assert sum(check_character(NUMBER[:4] + f"{c:02d}" + NUMBER[6:17]) == NUMBER[17]
               for c in range(1, 100)) < 10
