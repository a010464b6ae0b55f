"""Who is talking to the bot, and in which language."""

from __future__ import annotations

from datetime import timedelta

from core.clock import Clock
from core.ports import UnitOfWorkFactory
from core.users import Language, User

HELD_FOR = timedelta(days=7)


async def register_seen(uow: UnitOfWorkFactory, clock: Clock, user_id: int, display_name: str,
                        telegram_language: str | None) -> User:
    """Record a user on first sight and keep their display name and Telegram language fresh."""
    async with uow() as tx:
        before = await tx.users.get(user_id)
        user = await tx.users.upsert_seen(user_id, display_name[:64], telegram_language)
        if before is not None and before.blocked:
            # Writing to us again means they unblocked the bot: what was held for them in
            # the last week goes out after all; older notices are stale and stay held.
            await tx.outbox.release_held(user_id, since=clock.now() - HELD_FOR)
        await tx.commit()
    return user


async def choose_language(uow: UnitOfWorkFactory, user_id: int, language: Language) -> None:
    async with uow() as tx:
        await tx.users.set_language(user_id, language)
        await tx.commit()
