"""Asking a friend to cover: requests, invitations, acceptance, the capacity review, signing
and early termination, one module per actor. Each action re-reads the request in its own
transaction and checks who acts and what state it is in, whatever a button or link claimed.

Callers say ``from core.services import cover`` and ``cover.accept(…)``: this module is
the one public face of the package."""

from core.services.cover.borrower import (
    Created,
    cancel,
    create_request,
    expire_due,
    revoke,
)
from core.services.cover.common import (
    CoverConfig,
    CoverRefusal,
    CoverRefused,
    display_name,
    has_right,
    visible_to,
)
from core.services.cover.friend import (
    accept,
    decline,
    open_by_token,
    open_request,
)
from core.services.cover.review import (
    review_friend,
)
from core.services.cover.signing import (
    Signed,
    Termination,
    agreement_preview,
    sign,
    terminate,
)

__all__ = [
    "CoverConfig",
    "CoverRefusal",
    "CoverRefused",
    "Created",
    "Signed",
    "Termination",
    "accept",
    "agreement_preview",
    "cancel",
    "create_request",
    "decline",
    "display_name",
    "expire_due",
    "has_right",
    "open_by_token",
    "open_request",
    "review_friend",
    "revoke",
    "sign",
    "terminate",
    "visible_to",
]
