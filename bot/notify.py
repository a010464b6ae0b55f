"""How one party is named to the other in chat."""

from __future__ import annotations

from bot.context import Services
from core.services.cover import display_name as _display_name


async def display_name(services: Services, user_id: int | None) -> str:
    async with services.uow.read() as tx:
        return await _display_name(tx, user_id)
