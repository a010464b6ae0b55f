import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import Money, MoneyError, MoneyErrorReason, parse_amount


@pytest.mark.parametrize(("text", "fen"), [
    ("12.3", 1230), ("¥1,234.56", 123456), ("1234", 123400), ("0.01", 1), ("  88 元", 8800),
    ("８８．５", 8850), ("￥1,000", 100000), ("CNY 5", 500), ("1,234,567.8", 123456780),
    ("١٢٣", 12300), ("१,२३४.५", 123450),  # digits of other scripts read as the same amount
])
def test_parses_what_people_type(text, fen):
    assert parse_amount(text) == Money(fen)


@pytest.mark.parametrize(("text", "reason"), [
    ("-1", MoneyErrorReason.NEGATIVE), ("¥-5", MoneyErrorReason.NEGATIVE),
    ("1e3", MoneyErrorReason.INVALID), ("12.345", MoneyErrorReason.TOO_PRECISE),
    ("abc", MoneyErrorReason.INVALID), ("", MoneyErrorReason.EMPTY),
    ("   ", MoneyErrorReason.EMPTY),
    ("0", MoneyErrorReason.ZERO), ("0.00", MoneyErrorReason.ZERO),
    ("100000000.01", MoneyErrorReason.TOO_LARGE), ("9" * 40, MoneyErrorReason.TOO_LARGE),
    ("1,23", MoneyErrorReason.INVALID), ("12.", MoneyErrorReason.INVALID),
    (".5", MoneyErrorReason.INVALID), ("NaN", MoneyErrorReason.INVALID),
    ("inf", MoneyErrorReason.INVALID), ("1_000", MoneyErrorReason.INVALID),
    ("١٢x", MoneyErrorReason.INVALID), ("0x10", MoneyErrorReason.INVALID),
])
def test_refuses_with_a_reason(text, reason):
    with pytest.raises(MoneyError) as error:
        parse_amount(text)
    assert error.value.reason is reason


def test_maximum_is_configurable():
    with pytest.raises(MoneyError):
        parse_amount("501", maximum=Money.yuan(500))
    assert parse_amount("500", maximum=Money.yuan(500)) == Money.yuan(500)


def test_never_a_float():
    with pytest.raises(TypeError):
        Money(1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(100) * 1.5  # type: ignore[operator]


@pytest.mark.parametrize(("fen", "shown"), [
    (123456, "¥1,234.56"), (5, "¥0.05"), (0, "¥0.00"), (-150, "-¥1.50"),
    (100_000_000_00, "¥100,000,000.00"),
])
def test_format(fen, shown):
    assert Money(fen).format() == shown


def test_split_rounding_rule():
    # ¥100.00 in 3: the leftover fen go to the earliest instalments.
    assert [m.fen for m in Money(10000).split(3)] == [3334, 3333, 3333]
    assert [m.fen for m in Money(10001).split(3)] == [3334, 3334, 3333]
    assert [m.fen for m in Money(2).split(3)] == [1, 1, 0]


def test_allocate_by_share():
    assert [m.fen for m in Money(10000).allocate([5000, 3000, 2000])] == [5000, 3000, 2000]
    assert [m.fen for m in Money(100).allocate([1, 1, 1])] == [34, 33, 33]
    assert [m.fen for m in Money(-100).allocate([1, 1, 1])] == [-34, -33, -33]
    with pytest.raises(ValueError):
        Money(100).allocate([0, 0])


@given(st.integers(-10**12, 10**12), st.lists(st.integers(0, 10**4), min_size=1, max_size=12)
       .filter(lambda ws: sum(ws) > 0))
def test_allocation_adds_back_exactly(fen, weights):
    parts = Money(fen).allocate(weights)
    assert sum(p.fen for p in parts) == fen
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        exact = abs(fen) * weight / total
        assert abs(abs(part.fen) - exact) < 1  # within one fen of the exact share


@given(st.integers(0, 10**10))
def test_format_parse_round_trip(fen):
    if fen == 0:
        return
    assert parse_amount(Money(fen).format()) == Money(fen)
