"""The e-agreement (代还协议): rendered from a versioned template in the friend's language,
fingerprinted with SHA-256, signed by button, and never changed afterwards."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from importlib import resources

from core.money import Money
from core.users import Language

TEMPLATE_VERSION = "cover-v1"


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    COMPLETED = "completed"  # every covered instalment paid
    TERMINATED = "terminated"  # ended early by either party
    DEFAULTED = "defaulted"  # suspended after a debit failed for good


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    borrower_name: str  # masked
    borrower_id_mask: str
    friend_name: str  # masked
    friend_id_mask: str
    merchant: str
    purchased_on: str
    principal: Money
    share_bp: int
    parts: tuple[tuple[int, int, str, Money], ...]  # (seq, of, due date as shown, friend part)
    retry_days: str
    notice_days: int

    @property
    def total(self) -> Money:
        return Money(sum(part.fen for *_, part in self.parts))


@dataclass(frozen=True, slots=True)
class AgreementText:
    version: str
    language: Language
    text: str

    @property
    def sha256(self) -> str:
        return fingerprint(self.text)


def share_text(share_bp: int) -> str:
    """10000 → 100%, 3333 → 33.33%."""
    whole, rest = divmod(share_bp, 100)
    return f"{whole}%" if not rest else f"{whole}.{rest:02d}".rstrip("0") + "%"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _template(language: Language) -> str:
    name = f"{TEMPLATE_VERSION}.{language.value}.txt"
    return (resources.files("core.agreement_templates") / name).read_text("utf-8")


def other_language(language: Language) -> Language:
    return next(other for other in Language if other is not language)


def render(terms: AgreementTerms, language: Language) -> AgreementText:
    share = share_text(terms.share_bp)
    if language is Language.ZH:
        lines = [f"  第 {seq}/{of} 期，{due} 到期：{part}" for seq, of, due, part in terms.parts]
    else:
        lines = [f"  {seq}/{of}, due {due}: {part}" for seq, of, due, part in terms.parts]
    text = _template(language).format(
        version=TEMPLATE_VERSION, borrower_name=terms.borrower_name,
        borrower_id_mask=terms.borrower_id_mask, friend_name=terms.friend_name,
        friend_id_mask=terms.friend_id_mask, merchant=terms.merchant,
        purchased_on=terms.purchased_on, principal=terms.principal, share=share,
        total=terms.total, schedule="\n".join(lines), retry_days=terms.retry_days,
        notice_days=terms.notice_days)
    return AgreementText(TEMPLATE_VERSION, language, text)


@dataclass(frozen=True, slots=True)
class Agreement:
    id: int
    request_id: int
    borrower_id: int
    friend_id: int
    bill_id: int
    share_bp: int
    version: str
    language: Language
    text: str
    text_sha256: str
    signed_at: datetime
    status: AgreementStatus
    # The same terms in the other party's language, rendered when it was signed; None for
    # agreements signed before translations were kept.
    translation: str | None = None
    translation_language: Language | None = None

    def text_in(self, language: Language) -> str | None:
        """The text to give someone who reads ``language``: the signed original, or the
        translation kept with it (the caller marks it as one)."""
        if language is self.language:
            return self.text
        return self.translation if language is self.translation_language else None


@dataclass(frozen=True, slots=True)
class CoveredInstalment:
    agreement_id: int
    instalment_id: int
    due_date: date
    amount: Money  # the friend's part
    status: str  # covered, returned, paid, defaulted
