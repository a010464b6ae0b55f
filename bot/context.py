"""What handlers get from the application: the wired services (``bot_data`` holds only
these) and the language of the person behind the update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot.i18n import Texts
from core.bills import FeeSchedule
from core.clock import Clock, business_date
from core.cover import InviteTokens
from core.credit import CreditPolicy
from core.identity import IdentityHasher
from core.ports import UnitOfWorkFactory
from core.risk import RiskPolicy
from core.services.cover import CoverConfig
from core.services.people import People
from core.services.servicing import ServicingPolicy
from core.users import Language

SERVICES = "services"


@dataclass(frozen=True)
class Services:
    uow: UnitOfWorkFactory
    people: People
    texts: Texts
    clock: Clock
    tz: ZoneInfo
    operator_ids: frozenset[int]
    hasher: IdentityHasher
    fees: FeeSchedule
    credit_policy: CreditPolicy
    payment_token: str | None  # Telegram Payments provider token; None: no in-chat top-up
    cover: CoverConfig
    tokens: InviteTokens
    servicing: ServicingPolicy
    risk: RiskPolicy
    database_path: Path | None = None  # where reports are saved beside

    def today(self) -> date:
        return business_date(self.clock.now(), self.tz)


def services(context: ContextTypes.DEFAULT_TYPE | Application) -> Services:
    return context.bot_data[SERVICES]


async def language_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Language:
    user = update.effective_user
    if user is None:
        return Language.EN
    person = await services(context).people.seen(user.id, user.full_name, user.language_code)
    return person.effective_language


async def text_for(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str,
                   **params: object) -> str:
    return services(context).texts.get(await language_of(update, context), key, **params)


@dataclass(frozen=True)
class Speaker:
    """Texts in one person's language: ``say("buy.done", total=…)``."""

    texts: Texts
    language: Language

    def __call__(self, key: str, /, **params: object) -> str:
        return self.texts.get(self.language, key, **params)


async def speaker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Speaker:
    return Speaker(services(context).texts, await language_of(update, context))
