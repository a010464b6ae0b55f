"""Opening the book for the bot and the command line alike: migrations first, then the key
check. No Telegram here, so operator commands start quickly. The engine is the settings'
choice (DATABASE_URL for PostgreSQL, else the SQLite file at DATABASE_PATH)."""

from __future__ import annotations

from bot.settings import Settings
from core.clock import Clock
from storage.book import Book
from storage.engine import open_book
from storage.keys import check_key_fingerprints


async def open_database(settings: Settings, clock: Clock) -> Book:
    db = await open_book(settings.book_location, clock)
    try:
        if settings.id_hash_key is not None:
            current, previous = settings.identity_hasher().fingerprints
            await check_key_fingerprints(db, clock, current, previous,
                                         made=settings.invite_tokens().made)
    except BaseException:
        await db.close()
        raise
    return db
