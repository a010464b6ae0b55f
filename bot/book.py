"""Opening the book for the bot and the command line alike: migrations first, then the key
check. No Telegram here, so operator commands start quickly."""

from __future__ import annotations

from bot.settings import Settings
from core.clock import Clock
from storage.db import Database
from storage.keys import check_key_fingerprints
from storage.migrate import migrate


async def open_database(settings: Settings, clock: Clock) -> Database:
    db = await Database(settings.database_path).open()
    try:
        await migrate(db, clock)
        if settings.id_hash_key is not None:
            current, previous = settings.identity_hasher().fingerprints
            await check_key_fingerprints(db, clock, current, previous,
                                         made=settings.invite_tokens().made)
    except BaseException:
        await db.close()
        raise
    return db
