"""/ops, /freeze, /unfreeze and alert buttons: for operators only. Anyone else gets exactly
the answer an unknown command gets, so the console does not announce itself."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import callbacks, keyboards, limits
from bot.context import BotContext, Speaker
from bot.editing import edit, reply
from bot.formatting import day
from bot.handlers import PRIVATE
from bot.handlers.fallback import unknown_command
from bot.report import network_lines
from core.money import Money
from core.numerals import parse_int
from core.services.daily import network_view

MAX_USER_ID = 2**53  # Telegram's user ids fit in 52 bits


def is_operator(update: Update, context: BotContext) -> bool:
    user = update.effective_user
    return user is not None and user.id in context.services.operator_ids


async def ops(update: Update, context: BotContext) -> None:
    if not is_operator(update, context):
        await unknown_command(update, context)
        return
    say = context.say
    found = context.services
    today = found.today()
    async with found.uow.read() as tx:
        stats = await tx.risk.book_stats(today)
        alerts = await tx.risk.open_alerts(10)
        runs = await tx.servicing.runs(3)
        outbox = await tx.outbox.counts()
        network = await network_view(tx)
    lines = [say("ops.header", date=day(today, say.language)), "", _stats(stats, say), ""]
    lines.append(say("ops.alerts", count=stats["open_alerts"]) if alerts else
                 say("ops.no_alerts"))
    lines += [say("ops.alert_line", id=a.id, severity=a.severity,
                  rule=say(f"rule.{a.rule}"), subject=a.subject) for a in alerts]
    lines += ["", say("ops.runs")]
    for run in runs:
        c = run.counts
        lines.append(say("ops.run_line", date=run.business_date.isoformat(),
                         state=say("ops.run_done" if run.finished_at else "ops.run_open"),
                         debited=c["debited"], failed=c["failed"], retried=c["retried"],
                         defaulted=c["defaulted"], reminders=c["reminders_planned"]))
    lines.append(say("ops.outbox", **{k: outbox.get(k, 0)
                                      for k in ("pending", "sent", "blocked", "failed")}))
    lines += ["", *network_lines(network, say)]
    text = limits.cut("\n".join(lines))  # ten alerts and the network: bounded, but names are long
    await reply(update, text, reply_markup=keyboards.alert_actions(
        [(a.id, a.subject) for a in alerts], say))


def _stats(stats: dict[str, int], say: Speaker) -> str:
    return say("ops.stats", users=stats["users"], agreements=stats["active_agreements"],
               exposure=Money(stats["exposure"]), outstanding=Money(stats["outstanding"]),
               b1=Money(stats["overdue_1-30"]), b2=Money(stats["overdue_31-60"]),
               b3=Money(stats["overdue_61-90"]), b4=Money(stats["overdue_90+"]))


async def alert_pressed(update: Update, context: BotContext,
                        press: callbacks.AlertPress) -> None:
    query = update.callback_query
    say = context.say
    if not is_operator(update, context):
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    alert_id = press.alert_id
    found = context.services
    async with found.uow.read() as tx:
        alert = await tx.risk.alert(alert_id)
    if alert is None:
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    operator = update.effective_user.id
    if press.action is callbacks.AlertAction.ACKNOWLEDGE:
        done = await found.risk.acknowledge(alert_id=alert_id, operator_id=operator)
        await query.answer()
        await edit(query, say("alert.acknowledged" if done else "alert.already", id=alert_id))
        return
    user_id = alert.person
    if user_id is None:  # only a person can be frozen
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    await found.risk.set_frozen(user_id=user_id, operator_id=operator,
                                  reason=f"alert #{alert_id}: {alert.rule}")
    await found.risk.acknowledge(alert_id=alert_id, operator_id=operator)
    await query.answer()
    await edit(query, say("alert.frozen", subject=alert.subject, id=alert_id, user=user_id))


async def freeze(update: Update, context: BotContext) -> None:
    await _set_frozen(update, context, freezing=True)


async def unfreeze(update: Update, context: BotContext) -> None:
    await _set_frozen(update, context, freezing=False)


async def _set_frozen(update: Update, context: BotContext,
                      freezing: bool) -> None:
    if not is_operator(update, context):
        await unknown_command(update, context)
        return
    say = context.say
    args = context.args or []
    user_id = parse_int(args[0], 1, MAX_USER_ID) if args else None
    if user_id is None or (freezing and len(args) < 2):
        await reply(update, say("ops.freeze_usage"))
        return
    reason = " ".join(args[1:])[:200] if freezing else None
    changed = await context.services.risk.set_frozen(
        user_id=user_id, operator_id=update.effective_user.id, reason=reason)
    if not changed:
        await reply(update, say("ops.unchanged", user=user_id))
    elif freezing:
        await reply(update, say("ops.frozen", user=user_id, reason=reason))
    else:
        await reply(update, say("ops.unfrozen", user=user_id))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("ops", ops, filters=PRIVATE),
            CommandHandler("freeze", freeze, filters=PRIVATE),
            CommandHandler("unfreeze", unfreeze, filters=PRIVATE),
            callbacks.AlertPress.handler(alert_pressed)]
