"""The fingerprints of the keys a book was written with, checked at every start."""

from __future__ import annotations

from core.clock import Clock, utc_iso
from storage.db import Database


class KeyMismatch(RuntimeError):
    """The book holds hashes made with a key this process was not given."""


async def check_key_fingerprints(db: Database, clock: Clock, current: str,
                                 previous: tuple[str, ...] = ()) -> None:
    """Refuse a book written with a key not among ``current`` and ``previous``; record
    ``current`` as a key the book is now written with."""
    rows = await db.reader.execute_fetchall("SELECT fingerprint FROM key_fingerprints")
    recorded = {fingerprint for (fingerprint,) in rows}
    unknown = sorted(recorded - {current, *previous})
    if unknown:
        raise KeyMismatch(
            f"this database was written with another ID_HASH_KEY (fingerprint "
            f"{', '.join(unknown)}; the key given has {current}). Start with the key it was "
            "written with. To change keys, set ID_HASH_KEY to the new key and keep the old "
            "one in ID_HASH_KEY_PREVIOUS (docs/operations.md, Rotating ID_HASH_KEY)")
    if current not in recorded:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO key_fingerprints (fingerprint, first_used_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING", (current, utc_iso(clock.now())))
