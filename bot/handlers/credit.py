"""/credit: tier, line, used, available, and each factor that moved the rating."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext, Speaker
from bot.editing import reply
from bot.handlers import PRIVATE
from core.credit import Rating, Tier
from core.services.credit import credit_report


def render(rating: Rating, verified: bool, say: Speaker) -> str:
    lines = [say("credit.header", tier=rating.tier.value, score=rating.score, line=rating.line,
                 used=rating.used, available=rating.available), "", say("credit.factors")]
    for factor in rating.factors:
        sign = "+" if factor.points > 0 else ""
        points = f"{sign}{factor.points}" if factor.points else "±0"
        lines.append(f"• {say(f'factor.{factor.code}.{factor.case}', **factor.detail)} ({points})")
    if rating.tier is Tier.E:
        lines += ["", say("credit.tier_e_hint" if verified else "credit.unverified_hint")]
    return "\n".join(lines)


async def show(update: Update, context: BotContext) -> None:
    say = context.say
    found = context.services
    user_id = update.effective_user.id
    rating = await credit_report(found.uow, user_id, found.today(), found.credit_policy)
    verified = any(f.code == "identity" and f.case == "verified" for f in rating.factors)
    await reply(update, render(rating, verified, say))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("credit", show, filters=PRIVATE)]
