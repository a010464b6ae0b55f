"""Dates for people, per language (Babel's CLDR data); amounts use ``Money.format``."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from core.clock import business_date
from core.users import Language

_LOCALES = {Language.ZH: "zh_Hans_CN", Language.EN: "en_GB"}


def day(value: date, language: Language) -> str:
    """29 Dec 2026 / 2026年12月29日."""
    return format_date(value, format="medium", locale=_LOCALES[language])


def local_day(value: datetime, tz: ZoneInfo, language: Language) -> str:
    """The business date of an instant, in the platform's timezone: a debit at 06:00 in
    Shanghai is on that day, not on the UTC day before."""
    return day(business_date(value, tz), language)


def moment(value: datetime, tz: ZoneInfo, language: Language) -> str:
    """An instant in the platform's timezone: 1 Dec 2026, 10:00 / 2026年12月1日 10:00."""
    local = value.astimezone(tz)
    return f"{day(local.date(), language)} {local:%H:%M}"
