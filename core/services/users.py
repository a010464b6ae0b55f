"""Who is talking to the bot, and in which language."""

from __future__ import annotations

from core.ports import UnitOfWorkFactory
from core.users import Language, User


async def register_seen(uow: UnitOfWorkFactory, user_id: int, display_name: str,
                        telegram_language: str | None) -> User:
    """Record a user on first sight and keep their display name and Telegram language fresh."""
    async with uow() as tx:
        user = await tx.users.upsert_seen(user_id, display_name[:64], telegram_language)
        await tx.commit()
    return user


async def choose_language(uow: UnitOfWorkFactory, user_id: int, language: Language) -> None:
    async with uow() as tx:
        await tx.users.set_language(user_id, language)
        await tx.commit()
