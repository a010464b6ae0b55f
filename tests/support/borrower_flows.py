"""Shared test flows, moved out of test_borrower_services.py so no test module imports another."""

from __future__ import annotations

from datetime import date

from core.identity import IdentityHasher, parse_resident_id
from core.services.verification import verify
from tests.support.idnumbers import resident_id

TODAY = date(2026, 11, 29)


HASHER = IdentityHasher(b"k" * 32)


async def verified(uow, user_id, born=date(1990, 5, 17), sequence="123"):
    async with uow() as tx:
        await tx.users.upsert_seen(user_id, f"user {user_id}", "en")
        await tx.commit()
    return await verify(uow, HASHER, user_id=user_id, phone=f"+86138000{user_id:05d}",
                        legal_name="张三", resident=parse_resident_id(
                            resident_id(born, sequence=sequence), TODAY))
