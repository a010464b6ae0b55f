"""Random, hostile updates for the fuzz test: any Unicode, junk commands and payloads, forged
and replayed callback data, other people's contacts, edits, stickers, groups, channels, and
updates missing fields that Telegram usually sends."""

from __future__ import annotations

import random
import string

from bot import callbacks

COMMANDS = ["/start", "/help", "/language", "/verify", "/credit", "/buy", "/bills", "/wallet",
            "/cover", "/requests", "/agreements", "/terminate", "/cancel", "/ops", "/freeze",
            "/unfreeze", "/nope", "/start@daihuan_test_bot", "/BUY", "/"]


def field_value(rng: random.Random, rule: object) -> str:
    """A value for one payload field: valid, at its edges, or just past them (0, -1, one
    above the maximum, leading zeros, other scripts' digits), or junk."""
    if isinstance(rule, callbacks.Range):
        return rng.choice([
            str(rule.low), str(rule.high), str(rule.low - 1), str(rule.high + 1), "0", "-1",
            str(10**19), str(rng.randint(rule.low, min(rule.high, rule.low + 50))),
            f"0{rng.randint(1, 9)}", "٣", "３", "1.5", ""])
    if isinstance(rule, callbacks.Shape):
        return rng.choice([f"{rng.getrandbits(32):08x}", f"{rng.getrandbits(48):012x}",
                           "zz", "", "0" * 13])
    members = [m.value for m in rule]  # an enum
    return rng.choice([*members, *members, "x", "", members[0].upper() + "x"])


def codec_payload(rng: random.Random) -> str:
    """Any button's shape, from the codec itself, with any of its fields out of range."""
    cls = rng.choice(callbacks.ALL)
    data = ":".join([cls.prefix, *(field_value(rng, f.rule) for f in cls.schema())])
    return data.encode()[:64].decode(errors="ignore") or "x"


def junk(rng: random.Random, longest: int = 300) -> str:
    """Text of any kind: ASCII, CJK, emoji, right-to-left, control and combining marks."""
    pools = [string.printable, "你好代还白条分期还款¥，。", "😀🙂💸🧾🇨🇳", "مرحبا שלום",
             "\u200b\u200e\u202e\u0301\u0000\ufeff", "0123456789", "１２３４５６"]
    length = rng.choice([0, 1, 2, 5, 18, 30, 64, longest, 4096, 5000])
    return "".join(rng.choice(rng.choice(pools)) for _ in range(length))


def callback_data(rng: random.Random, seen: list[str]) -> str:
    roll = rng.random()
    if roll < 0.2 and seen:
        return rng.choice(seen)  # replayed, maybe from someone else's message
    if roll < 0.6:
        data = codec_payload(rng)
        if rng.random() < 0.3:
            data = data[: rng.randint(1, len(data))]  # truncated
        return data
    data = junk(rng, 64)
    while len(data.encode()) > 64:
        data = data[:-1]
    return data or "x"


def update(rng: random.Random, users: list[dict], seen: list[str], next_id) -> dict:
    user = rng.choice(users)
    private = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
    chat = private
    roll = rng.random()
    if roll < 0.08:
        chat = {"id": -100_000 - user["id"], "type": rng.choice(["group", "supergroup"]),
                "title": "group"}
    message = {"message_id": next_id(), "date": 1_790_000_000, "chat": chat, "from": user}
    kind = rng.random()
    if kind < 0.25:
        message["text"] = junk(rng) or "."
    elif kind < 0.45:
        command = rng.choice(COMMANDS)
        text = command + ("" if rng.random() < 0.4 else " " + junk(rng, 40))
        message["text"] = text
        message["entities"] = [{"type": "bot_command", "offset": 0,
                                "length": len(command.encode("utf-16-le")) // 2}]
    elif kind < 0.55:
        payload = junk(rng, 80) if rng.random() < 0.5 else "c_" + "".join(
            rng.choice(string.ascii_letters + "-_") for _ in range(rng.choice([31, 32, 33])))
        message["text"] = "/start " + payload
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    elif kind < 0.8:
        other = rng.choice(users)
        query = {"id": f"{user['id']}-{next_id()}", "from": user, "chat_instance": "x",
                 "data": callback_data(rng, seen)}
        if rng.random() < 0.8:
            query["message"] = {"message_id": rng.randint(1, 50), "date": 1_790_000_000,
                                "chat": {"id": other["id"], "type": "private",
                                         "first_name": other["first_name"]},
                                "from": {"id": 777000111, "is_bot": True, "first_name": "D"},
                                "text": "old"}
        return {"callback_query": query}
    elif kind < 0.85:
        owner = rng.choice([user["id"], rng.choice(users)["id"], None])
        message["contact"] = {"phone_number": junk(rng, 20) or "+1", "first_name": "c"}
        if owner is not None:
            message["contact"]["user_id"] = owner
    elif kind < 0.9:
        message["sticker"] = {"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                              "is_animated": False, "is_video": False, "type": "regular"}
    elif kind < 0.93:
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]
    elif kind < 0.96:
        message["text"] = junk(rng, 50) or "x"
        message["edit_date"] = 1_790_000_100
        return {"edited_message": message}
    elif kind < 0.98:
        post = {"message_id": next_id(), "date": 1_790_000_000,
                "chat": {"id": -200_000, "type": "channel", "title": "c"},
                "text": junk(rng, 50) or "x"}
        return {"channel_post": post}
    else:
        message.pop("from")  # a message with no sender (anonymous admin, service message)
        message["text"] = junk(rng, 30) or "x"
    return {"message": message}
