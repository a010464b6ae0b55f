"""What the inbox and the drafts keep is sealed: no ID number in clear, opened only with our
keys, and only for the purpose it was sealed for."""

import json

import pytest

from bot.inbox import whose
from bot.sealing import Sealer

KEY, OLD = b"k" * 32, b"o" * 32
UPDATE = {"update_id": 1, "message": {"message_id": 2, "date": 0, "text": "11010519491231002X",
                                      "chat": {"id": 42, "type": "private"},
                                      "from": {"id": 42, "is_bot": False, "first_name": "A"}}}


def test_a_sealed_update_holds_nothing_in_clear_and_opens_with_the_key():
    plain = json.dumps(UPDATE).encode()
    sealed = Sealer(KEY).seal(plain)
    assert b"11010519491231002X" not in sealed and b"message" not in sealed
    assert Sealer(KEY).seal(plain) != sealed  # a fresh nonce each time
    assert Sealer(KEY).open(sealed) == plain
    assert Sealer(b"n" * 32, previous=(KEY,)).open(sealed) == plain  # a key just replaced
    with pytest.raises(ValueError):
        Sealer(OLD).open(sealed)
    with pytest.raises(ValueError):
        Sealer(KEY).open(sealed[:-1] + bytes([sealed[-1] ^ 1]))  # tampered with


def test_what_is_sealed_for_one_purpose_does_not_open_for_another():
    sealed = Sealer(KEY, purpose="inbox").seal(b'{"phone": "+8613800138000"}')
    with pytest.raises(ValueError):
        Sealer(KEY, purpose="drafts").open(sealed)
    assert Sealer(KEY, purpose="inbox").open(sealed) == b'{"phone": "+8613800138000"}'


def test_whose_update_it_is():
    assert whose(UPDATE) == 42
    press = {"update_id": 3, "callback_query": {"id": "q", "from": {"id": 7},
                                                "message": {"chat": {"id": 9}}}}
    assert whose(press) == 7
    assert whose({"update_id": 4, "my_chat_member": {"chat": {"id": -5}, "from": {"id": 8}}}) == 8
    assert whose({"update_id": 5, "poll": {"id": "p"}}) is None
