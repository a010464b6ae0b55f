"""The chart of accounts: who holds which account, by code."""

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
