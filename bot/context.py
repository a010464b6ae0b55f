"""What handlers get from the application: the wired services (``bot_data`` holds them,
beside the metrics, the database and the jobs' leader, for the run loop) and the language of
the person behind the update."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.i18n import Texts
from core.bills import FeeSchedule
from core.clock import Clock, business_date
from core.credit import CreditPolicy
from core.identity import IdentityHasher
from core.ports import UnitOfWorkFactory
from core.services.cover.desk import CoverDesk
from core.services.people import People
from core.services.risk import RiskDesk
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
    cover: CoverDesk  # asking, accepting, reviewing, signing, ending (core.services.cover)
    servicing: ServicingPolicy
    risk: RiskDesk  # the rules after an action, alerts, freezes (core.services.risk)
    database_path: Path | None = None  # where reports are saved beside

    def today(self) -> date:
        return business_date(self.clock.now(), self.tz)


def services(app: Application) -> Services:
    """The services of an application, for code outside handlers (web, tests, the demo);
    handlers read ``context.services``."""
    return app.bot_data[SERVICES]


@dataclass(frozen=True)
class Speaker:
    """Texts in one person's language: ``say("buy.done", total=…)``."""

    texts: Texts
    language: Language

    def __call__(self, key: str, /, **params: object) -> str:
        return self.texts.get(self.language, key, **params)


class BotContext(CallbackContext[ExtBot, dict, dict, dict]):
    """What every handler gets (PTB builds one per update): ``context.services``, the wired
    services, and ``context.say``, texts in the language of the person behind the update.
    The first handler of every update (bot.application) calls ``know`` to set ``say``."""

    _say: Speaker | None = None

    @property
    def services(self) -> Services:
        return self.bot_data[SERVICES]

    @property
    def say(self) -> Speaker:
        if self._say is None:
            raise RuntimeError("context.say before know(update): no person to speak to")
        return self._say

    async def know(self, update: object) -> Speaker:
        """Remember who sent ``update`` (their Telegram name and language) and speak their
        language from now on; English when no person is behind it."""
        language = Language.EN
        if isinstance(update, Update) and update.effective_user is not None \
                and not update.effective_user.is_bot:
            user = update.effective_user
            person = await self.services.people.seen(user.id, user.full_name,
                                                     user.language_code)
            language = person.effective_language
        self._say = Speaker(self.services.texts, language)
        return self._say

    def speak(self, language: Language) -> Speaker:
        """Switch to ``language`` for the rest of this update (the person just chose it)."""
        self._say = Speaker(self.services.texts, language)
        return self._say


CONTEXT_TYPES = ContextTypes(context=BotContext)
