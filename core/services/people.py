"""A write-through cache of who we have seen, so an ordinary update costs no database write."""

from __future__ import annotations

from collections import OrderedDict

from core.clock import Clock
from core.ports import UnitOfWorkFactory
from core.services.users import choose_language, register_seen
from core.users import Language, User


class People:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, capacity: int = 50_000) -> None:
        self._uow = uow
        self._clock = clock
        self._capacity = capacity
        self._known: OrderedDict[int, User] = OrderedDict()

    async def seen(self, user_id: int, display_name: str, telegram_language: str | None) -> User:
        """The user behind an update, registered on first sight and refreshed on change."""
        cached = self._known.get(user_id)
        if (cached is not None and cached.display_name == display_name[:64]
                and cached.telegram_language == telegram_language):
            self._known.move_to_end(user_id)
            return cached
        user = await register_seen(self._uow, self._clock, user_id, display_name,
                                   telegram_language)
        self._remember(user)
        return user

    async def choose_language(self, user_id: int, language: Language) -> None:
        await choose_language(self._uow, user_id, language)
        self._known.pop(user_id, None)  # re-read on next sight, with the new choice

    def forget(self, user_id: int) -> None:
        """Drop what we remember, so the user's next update is written through (after the
        outbox marked them as having blocked the bot, say)."""
        self._known.pop(user_id, None)

    async def language(self, user_id: int) -> Language:
        """The language to write to someone in, whether or not they are writing to us now.
        Remembered: a servicing run's notices to one person read it once, not each time."""
        cached = self._known.get(user_id)
        if cached is not None:
            self._known.move_to_end(user_id)
            return cached.effective_language
        async with self._uow.read() as tx:
            user = await tx.users.get(user_id)
        if user is None:
            return Language.EN
        self._remember(user)
        return user.effective_language

    def _remember(self, user: User) -> None:
        self._known[user.id] = user
        self._known.move_to_end(user.id)
        while len(self._known) > self._capacity:
            self._known.popitem(last=False)
