"""Rules run right after a person's action (verifying, asking a friend, signing), so an
alert reaches operators at once rather than after the next servicing run."""

from __future__ import annotations

from bot.context import BotContext
from bot.outbox_sender import send_now


async def check_risk(context: BotContext, rules: tuple[str, ...]) -> None:
    result = await context.services.risk.evaluate(rules)
    if result.raised:
        await send_now(context)
