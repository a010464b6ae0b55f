"""The chart of accounts (who holds which account, by code) and the idempotency key of each
kind of transfer (core.ledger.TransferKind): a key names exactly what the money moved for,
so the same business fact posted twice posts once."""

from __future__ import annotations

from core.ledger import Account, AccountKind, AccountSpec
from core.ports import LedgerRepository

MERCHANT_SETTLEMENT = AccountSpec("merchant:settlement", AccountKind.MERCHANT)
FEE_INCOME = AccountSpec("income:fees", AccountKind.INCOME)
TELEGRAM_PAYMENTS = AccountSpec("external:telegram_payments", AccountKind.EXTERNAL)
BANK_TRANSFERS = AccountSpec("external:bank", AccountKind.EXTERNAL)

TOP_UP_SOURCES = {"telegram": TELEGRAM_PAYMENTS, "bank": BANK_TRANSFERS}


async def wallet_of(ledger: LedgerRepository, user_id: int) -> Account:
    return await ledger.open_account(AccountSpec.wallet(user_id))


async def receivable_of(ledger: LedgerRepository, user_id: int) -> Account:
    return await ledger.open_account(AccountSpec.receivable(user_id))


# -- idempotency keys, one builder per TransferKind -----------------------------------------
def top_up_key(source: str, ref: str) -> str:
    """A provider's or bank's own reference: a receipt delivered twice credits once."""
    return f"topup:{source}:{ref}"


def repayment_key(instalment_id: int, paid_before_fen: int) -> str:
    """The instalment and how much of it was paid before: unique per payment, and the same
    for a repeated tap on the same state."""
    return f"repay:instalment:{instalment_id}:{paid_before_fen}"


def debit_key(agreement_id: int, instalment_id: int, attempt: int) -> str:
    """One per attempt: a retry day is a new attempt, a servicing run redone is not."""
    return f"debit:{agreement_id}:{instalment_id}:{attempt}"


def purchase_key(ref: str) -> str:
    """The purchase's own reference (its nonce, or the import's row)."""
    return f"purchase:{ref}"
