"""The callback codec: every button payload reads back as written, fits Telegram's 64 bytes,
and nothing outside a field's range (or in another script's digits) is ever decoded."""

import pytest

from bot import callbacks
from tests.support.payloads import _valid, out_of_range_payloads


def _largest(rule) -> object:
    if isinstance(rule, callbacks.Range):
        return rule.high
    if isinstance(rule, callbacks.Shape):
        return _valid(rule)
    return max(rule, key=lambda m: len(m.value))


@pytest.mark.parametrize("cls", callbacks.ALL, ids=lambda c: c.__name__)
def test_largest_payload_round_trips_within_64_bytes(cls):
    values = {f.name: _largest(f.rule) for f in cls.schema()}
    press = cls(**values)
    data = press.pack()
    assert len(data.encode()) <= callbacks.MAX_BYTES
    assert cls.unpack(data) == press
    # No other kind of button reads the same payload: a press means one thing.
    assert [other for other in callbacks.ALL if other.matches(data)] == [cls]


def test_out_of_range_and_foreign_digits_never_decode():
    payloads = out_of_range_payloads()
    assert payloads
    for data in payloads:
        assert [cls.__name__ for cls in callbacks.ALL if cls.matches(data)] == [], data


def test_packing_refuses_what_could_not_be_read_back():
    with pytest.raises(ValueError, match="out of range"):
        callbacks.FriendReduced(1, 0).pack()
    with pytest.raises(ValueError, match="out of range"):
        callbacks.PayAsk(0, 0).pack()
    with pytest.raises(ValueError, match="out of range"):
        callbacks.BuyConfirm("abcd1234", "not-hex-at-all").pack()
