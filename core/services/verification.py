"""Real-name verification: one identity per person, one person per identity."""

from __future__ import annotations

from enum import StrEnum

from core.events import Event, user_actor
from core.identity import IdentityHasher, ResidentId, VerifiedIdentity, mask_phone
from core.ports import UnitOfWorkFactory


class VerificationRefusal(StrEnum):
    ALREADY_VERIFIED = "already_verified"
    DUPLICATE_IDENTITY = "duplicate_identity"  # the number is verified on another account


class VerificationRefused(Exception):
    def __init__(self, reason: VerificationRefusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


async def verify(uow: UnitOfWorkFactory, hasher: IdentityHasher, *, user_id: int, phone: str,
                 legal_name: str, resident: ResidentId) -> VerifiedIdentity:
    """Record a verified identity. ``phone`` must already be proven to be the user's own."""
    identity = VerifiedIdentity(
        user_id=user_id, legal_name=legal_name, id_hash=hasher.resident_id(resident),
        id_mask=resident.mask, phone_mask=mask_phone(phone))
    async with uow() as tx:
        if await tx.identities.get(user_id) is not None:
            raise VerificationRefused(VerificationRefusal.ALREADY_VERIFIED)
        other = await tx.identities.by_id_hashes(hasher.resident_id_hashes(resident))
        if other is not None:
            # Kept for the risk rules: one identity on two Telegram accounts.
            await tx.events.append(Event(
                user_actor(user_id), f"user:{user_id}", "identity.duplicate_refused",
                {"id_mask": identity.id_mask, "verified_user": other.user_id},
                parties=(user_id, other.user_id)))
            await tx.commit()
            raise VerificationRefused(VerificationRefusal.DUPLICATE_IDENTITY)
        await tx.identities.add(identity)
        await tx.events.append(Event(
            user_actor(user_id), f"user:{user_id}", "identity.verified",
            {"id_mask": identity.id_mask, "phone_mask": identity.phone_mask},
            parties=(user_id,)))
        await tx.commit()
    return identity
