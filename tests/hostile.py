"""Random, hostile updates for the fuzz test: any Unicode, junk commands and payloads, forged
and replayed callback data, other people's contacts, edits, stickers, groups, channels, and
updates missing fields that Telegram usually sends."""

from __future__ import annotations

import random
import string

COMMANDS = ["/start", "/help", "/language", "/verify", "/credit", "/buy", "/bills", "/wallet",
            "/cover", "/requests", "/agreements", "/terminate", "/cancel", "/ops", "/freeze",
            "/unfreeze", "/nope", "/start@daihuan_test_bot", "/BUY", "/"]
CALLBACK_SHAPES = ["lang:{w}", "buy:p{n}:{h}", "buy:ok:{h}", "buy:no:{h}", "bills:{n}",
                   "pay:{n}:{n}", "payok:{n}:{n}", "topup:{n}", "wallet", "cv:b:{n}:{h}",
                   "cv:s:{n}:{h}", "cv:r:{w}:{h}", "cv:i:{n}", "cv:c:{n}", "cv:x:{n}",
                   "fr:v:{n}", "fr:a:{n}", "fr:d:{n}", "fr:y:{n}", "fr:i:5k:{n}",
                   "fr:r:{n}:{n}", "fr:s:{n}:10000:{h}{h}", "ag:f:{n}", "ag:t:{n}",
                   "ag:T:{n}", "al:a:{n}", "al:f:{n}"]


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
        shape = rng.choice(CALLBACK_SHAPES)
        data = shape.format(n=rng.choice([0, 1, 2, 3, 999999999999, rng.randint(1, 50)]),
                            h=f"{rng.getrandbits(32):08x}", w=rng.choice(["zh", "en", "xx", "c"]))
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
