"""Rules run right after a person's action (verifying, asking a friend, signing), so an
alert reaches operators at once rather than after the next servicing run."""

from __future__ import annotations

from bot.context import BotContext
from bot.outbox_sender import send_now
from core.services import risk as risk_service


async def check_risk(context: BotContext, rules: tuple[str, ...]) -> None:
    found = context.services
    result = await risk_service.evaluate(found.uow, found.clock, found.risk, found.today(),
                                         found.operator_ids, rules)
    if result.raised:
        await send_now(context)
