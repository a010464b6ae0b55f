"""The fingerprints of the keys a book was written with, checked at every start."""

from __future__ import annotations

from collections.abc import Callable

from core.clock import Clock, utc_iso
from storage.book import Book

# A book from before fingerprints were kept is checked against this many of its latest
# invitations: the key must have made their tokens.
SAMPLE = 20


class KeyMismatch(RuntimeError):
    """The book holds hashes made with a key this process was not given."""


async def check_key_fingerprints(db: Book, clock: Clock, current: str,
                                 previous: tuple[str, ...] = (),
                                 made: Callable[[str, str], bool] | None = None) -> None:
    """Refuse a book written with a key not among ``current`` and ``previous``; record
    ``current`` as a key the book is now written with. A book that records no key yet (it
    predates the check) is not taken on trust: if it holds invitations, ``made(salt,
    token_hash)`` must confirm the keys made them."""
    async with db.transaction() as conn:  # read and record under one write lock
        rows = await conn.execute_fetchall("SELECT fingerprint FROM key_fingerprints")
        recorded = {fingerprint for (fingerprint,) in rows}
        unknown = sorted(recorded - {current, *previous})
        if unknown:
            raise KeyMismatch(
                f"this database was written with another ID_HASH_KEY (fingerprint "
                f"{', '.join(unknown)}; the key given has {current}). {_WHAT_TO_DO}")
        if not recorded and made is not None:
            sample = await conn.execute_fetchall(
                "SELECT token_salt, token_hash FROM cover_requests ORDER BY id DESC LIMIT ?",
                (SAMPLE,))
            if sample and not any(made(salt, token_hash) for salt, token_hash in sample):
                raise KeyMismatch("this database's invitations were not made with the "
                                  f"ID_HASH_KEY given (fingerprint {current}). {_WHAT_TO_DO}")
        if current not in recorded:
            await conn.execute(
                "INSERT INTO key_fingerprints (fingerprint, first_used_at) VALUES (?, ?)"
                " ON CONFLICT DO NOTHING", (current, utc_iso(clock.now())))


_WHAT_TO_DO = ("Start with the key it was written with. To change keys, set ID_HASH_KEY to "
               "the new key and keep the old one in ID_HASH_KEY_PREVIOUS (docs/operations.md, "
               "Rotating ID_HASH_KEY)")
