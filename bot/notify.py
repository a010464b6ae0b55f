"""Telling the other party: each person in their own language. A person who never started
the bot, or blocked it, cannot be messaged (Telegram answers 403); that is logged, not
raised, so the action that caused the notice stands."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import BadRequest, Forbidden

from bot.context import Services, Speaker
from core.identity import mask_name

log = logging.getLogger(__name__)


async def speaker_for(services: Services, user_id: int) -> Speaker:
    return Speaker(services.texts, await services.people.language(user_id))


async def tell(bot: Bot, services: Services, user_id: int, key: str,
               markup_for: object = None, **params: object) -> bool:
    say = await speaker_for(services, user_id)
    markup = markup_for(say) if callable(markup_for) else None
    try:
        await bot.send_message(user_id, say(key, **params), reply_markup=markup)
    except (Forbidden, BadRequest) as error:
        log.info("cannot message user %s: %s", user_id, error.message)
        return False
    return True


async def display_name(services: Services, user_id: int | None) -> str:
    """How one party is shown to the other: Telegram name, and the masked legal name once
    verified (张* / J*** S****)."""
    if user_id is None:
        return ""
    async with services.uow() as tx:
        user = await tx.users.get(user_id)
        identity = await tx.identities.get(user_id)
    name = (user.display_name if user and user.display_name else "") or f"#{user_id}"
    if identity is not None:
        return f"{name} ({mask_name(identity.legal_name)})"
    return name

