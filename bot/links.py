"""The invitation link a borrower passes to a friend: a t.me deep link to this bot whose
payload is the request's signed token (core.cover.InviteTokens)."""

from __future__ import annotations

from bot.context import BotContext
from core.cover import CoverRequest


def invite_link(context: BotContext, request: CoverRequest) -> str:
    payload = context.services.cover.tokens.payload_for(request)
    return f"https://t.me/{context.bot.username}?start={payload}"
