from datetime import date

import pytest

from core.identity import (
    IdentityError,
    IdentityErrorReason,
    IdentityHasher,
    mask_name,
    mask_phone,
    normalize_phone,
    parse_legal_name,
    parse_resident_id,
)
from tests.support.idnumbers import resident_id, with_wrong_checksum

TODAY = date(2026, 11, 29)


def test_known_valid_number():
    # The GB 11643 example number; its check character is X.
    parsed = parse_resident_id("11010519491231002x", TODAY)
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.mask == "1101**********002X"
    assert "1949" not in repr(parsed)


@pytest.mark.parametrize(("text", "reason"), [
    ("1101051949123100", IdentityErrorReason.FORMAT),
    ("11010519491231002Y", IdentityErrorReason.FORMAT),
    ("abcdefghijklmnopqr", IdentityErrorReason.FORMAT),
    (with_wrong_checksum(resident_id(date(1990, 5, 17))), IdentityErrorReason.CHECKSUM),
    (resident_id(date(1990, 5, 17), region="990105"), IdentityErrorReason.REGION),
    ("110105" + "19900230" + "1234", IdentityErrorReason.BIRTH_DATE),
    (resident_id(date(2027, 1, 1)), IdentityErrorReason.BIRTH_DATE),
    (resident_id(date(2008, 11, 30)), IdentityErrorReason.MINOR),
])
def test_refusals(text, reason):
    with pytest.raises(IdentityError) as error:
        parse_resident_id(text, TODAY)
    assert error.value.reason is reason
    assert text not in str(error.value)


def test_adult_on_eighteenth_birthday():
    assert parse_resident_id(resident_id(date(2008, 11, 29)), TODAY)


def test_leap_day_birthday_comes_of_age_on_first_of_march():
    number = resident_id(date(2008, 2, 29))
    with pytest.raises(IdentityError):
        parse_resident_id(number, date(2026, 2, 28))
    assert parse_resident_id(number, date(2026, 3, 1))


@pytest.mark.parametrize("name", [
    "张三", "欧阳娜娜", "阿依古丽·买买提", "Jane Smith", "José O'Neil-Ruiz"])
def test_names_accepted(name):
    assert parse_legal_name(name) == name


@pytest.mark.parametrize("name", ["张", "张3", "J", "Jane 2", "Иван Петров", "张 Smith", "<b>x</b>",
                                  "a" * 31, "", "   "])
def test_names_refused(name):
    with pytest.raises(IdentityError):
        parse_legal_name(name)


def test_masks():
    assert mask_name("张三") == "张*"
    assert mask_name("Jane Smith") == "J*** S****"
    assert mask_phone(normalize_phone("+86 138-0013-8000")) == "+86*******8000"


def test_keyed_hash_depends_on_key():
    number = parse_resident_id(resident_id(date(1990, 1, 1)), TODAY)
    a, b = IdentityHasher(b"a" * 32), IdentityHasher(b"b" * 32)
    assert a.resident_id(number) == a.resident_id(number) != b.resident_id(number)
    assert number.number not in a.resident_id(number)


def test_phone_mask_hides_at_least_half_of_any_number():
    for raw in ("+86 138 0013 8000", "+44 20 7946 0958", "+290 4321 12", "+1 650 253 0000"):
        phone = normalize_phone(raw)
        masked = mask_phone(phone)
        shown = sum(c.isdigit() for c in masked)
        assert shown * 2 <= len(phone) - 1, masked
    with pytest.raises(IdentityError):
        normalize_phone("+2904321")
