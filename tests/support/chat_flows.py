"""Shared test flows, moved out of test_e2e_borrower.py so no test module imports another."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from tests.support.idnumbers import resident_id

ADULT_ID = resident_id(date(1990, 5, 17))


async def say_and_expect(person, text, fragment):
    await person.send(text)
    reply = await person.reply()
    assert fragment in reply.text, reply.text
    return reply


async def buy_in_chat(person, merchant="Shop", amount="100", plan="3 ×"):
    """/buy through to a confirmed purchase; returns the confirmation."""
    await say_and_expect(person, "/buy", "")
    await say_and_expect(person, merchant, "")
    plans = await say_and_expect(person, amount, "")
    await person.press(plans, plan)
    await person.next("answer")
    schedule = await person.next("edit")
    await person.press(schedule, "Confirm")
    await person.next("answer")
    return await person.next("edit")


async def verify(bot, person, number=ADULT_ID, name="Jane Smith"):
    prompt = await say_and_expect(person, "/verify", "")
    assert prompt.keyboard[0].get("request_contact") is True
    await person.share_contact("+8613800138000", owner_id=person.id)
    await person.reply()
    await person.send(name)
    await person.reply()
    await person.send(number)
    return await person.reply()


NOW = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)


BORROWER_ID = resident_id(date(1990, 5, 17))
FRIEND_ID = resident_id(date(1985, 2, 3), sequence="456")
LINK = re.compile(r"https://t\.me/\w+\?start=(c_[A-Za-z0-9_-]{32})")




async def press(person, output, label):
    await person.press(output, label)
    return await person.next("answer")


async def press_and_edit(person, output, label):
    await press(person, output, label)
    return await person.next("edit")


async def catch_up(bot, person):
    """Skip what the bot has told this person so far (notices a test does not check)."""
    await bot.drained()
    person.cursor = bot.api.last_seq


async def ask_by_link(jane, share="100%"):
    choose = await say_and_expect(jane, "/cover", "Which bill")
    shares = await press_and_edit(jane, choose, "JD Mall")
    routes = await press_and_edit(jane, shares, share)
    ready = await press_and_edit(jane, routes, "Get a link")
    return ready, LINK.search(ready.text).group(1)


async def friend_signs(bot, friend, payload, band="¥5,000–10,000"):
    """A verified friend opens the invitation, accepts, declares income and signs."""
    await friend.open_link(payload)
    review = await friend.reply()
    assert "asks you to cover" in review.text
    incomes = await press_and_edit(friend, review, "Accept")
    assert "monthly income" in incomes.text
    await press(friend, incomes, band)
    assert "Review passed" in (await friend.reply()).text
    agreement = await friend.reply()
    assert "FRIEND REPAYMENT AGREEMENT" in agreement.text and "SHA-256: " in agreement.text
    await press(friend, agreement, "Sign")
    assert (await friend.next("edit")).reply_markup is None  # the signed text stays shown
    assert "Signed: agreement #" in (await friend.reply()).text
    return agreement
