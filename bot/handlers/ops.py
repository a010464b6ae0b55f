"""/ops, /freeze, /unfreeze and alert buttons: for operators only. Anyone else gets exactly
the answer an unknown command gets, so the console does not announce itself."""

from __future__ import annotations

import asyncio
import logging

from telegram import InputFile, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import callbacks, keyboards
from bot.context import Services, Speaker, services, speaker
from bot.editing import edit, reply
from bot.formatting import day
from bot.handlers.fallback import unknown_command
from bot.notify import display_name
from bot.outbox_sender import send_now
from bot.report import chart, overdue_total, window
from core.agreement import share_text
from core.money import Money
from core.network import connected_groups, top_friends
from core.numerals import parse_int
from core.services import risk as risk_service
from core.services.risk import ALL_RULES

log = logging.getLogger(__name__)
MAX_USER_ID = 2**53  # Telegram's user ids fit in 52 bits


def is_operator(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    return user is not None and user.id in services(context).operator_ids


async def check_risk(context: ContextTypes.DEFAULT_TYPE, rules: tuple[str, ...]) -> None:
    """Run some rules right after an action; new alerts reach operators at once."""
    found = services(context)
    result = await risk_service.evaluate(found.uow, found.clock, found.risk, found.today(),
                                         found.operator_ids, rules)
    if result.raised:
        await send_now(context)


async def ops(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if not is_operator(update, context):
        await unknown_command(update, context)
        return
    say = await speaker(update, context)
    found = services(context)
    today = found.today()
    async with found.uow.read() as tx:
        stats = await tx.risk.book_stats(today)
        alerts = await tx.risk.open_alerts(10)
        runs = await tx.servicing.runs(3)
        outbox = await tx.outbox.counts()
        exposure = dict(await tx.risk.exposure())
        edges = await tx.risk.cover_edges()
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
    lines += ["", *await network_lines(found, exposure, edges, say)]
    text = "\n".join(lines)
    await reply(update, text, reply_markup=keyboards.alert_actions(
        [(a.id, a.subject) for a in alerts], say))


def _stats(stats: dict[str, int], say: Speaker) -> str:
    return say("ops.stats", users=stats["users"], agreements=stats["active_agreements"],
               exposure=Money(stats["exposure"]), outstanding=Money(stats["outstanding"]),
               b1=Money(stats["overdue_1-30"]), b2=Money(stats["overdue_31-60"]),
               b3=Money(stats["overdue_61-90"]), b4=Money(stats["overdue_90+"]))


async def network_lines(found: Services, exposure: dict[int, int], edges: list[tuple[int, int]],
                        say: Speaker) -> list[str]:
    lines = [say("ops.network")]
    for friend, fen, share in top_friends(exposure):
        lines.append(say("ops.friend_line", name=await display_name(found, friend),
                         exposure=Money(fen), share=share_text(share)))
    lines.append(say("ops.groups"))
    for group in connected_groups(edges, exposure):
        lines.append(say("ops.group_line", size=len(group.members),
                         exposure=Money(group.exposure), share=share_text(group.share_bp)))
    return lines


async def alert_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE,
                        press: callbacks.AlertPress) -> None:
    query = update.callback_query
    say = await speaker(update, context)
    if not is_operator(update, context):
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    alert_id = press.alert_id
    found = services(context)
    async with found.uow.read() as tx:
        alert = await tx.risk.alert(alert_id)
    if alert is None:
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    operator = update.effective_user.id
    if press.action is callbacks.AlertAction.ACKNOWLEDGE:
        done = await risk_service.acknowledge(found.uow, alert_id=alert_id, operator_id=operator)
        await query.answer()
        await edit(query, say("alert.acknowledged" if done else "alert.already", id=alert_id))
        return
    if not alert.subject.startswith("user:"):
        await query.answer(say("callback.invalid"), show_alert=True)
        return
    user_id = int(alert.subject.split(":")[1])
    await risk_service.set_frozen(found.uow, user_id=user_id, operator_id=operator,
                                  reason=f"alert #{alert_id}: {alert.rule}")
    await risk_service.acknowledge(found.uow, alert_id=alert_id, operator_id=operator)
    await query.answer()
    await edit(query, say("alert.frozen", subject=alert.subject, id=alert_id, user=user_id))


async def freeze(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_frozen(update, context, freezing=True)


async def unfreeze(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _set_frozen(update, context, freezing=False)


async def _set_frozen(update: Update, context: ContextTypes.DEFAULT_TYPE,
                      freezing: bool) -> None:
    if not is_operator(update, context):
        await unknown_command(update, context)
        return
    say = await speaker(update, context)
    args = context.args or []
    user_id = parse_int(args[0], 1, MAX_USER_ID) if args else None
    if user_id is None or (freezing and len(args) < 2):
        await reply(update, say("ops.freeze_usage"))
        return
    reason = " ".join(args[1:])[:200] if freezing else None
    changed = await risk_service.set_frozen(services(context).uow, user_id=user_id,
                                            operator_id=update.effective_user.id, reason=reason)
    if not changed:
        await reply(update, say("ops.unchanged", user=user_id))
    elif freezing:
        await reply(update, say("ops.frozen", user=user_id, reason=reason))
    else:
        await reply(update, say("ops.unfrozen", user=user_id))


async def daily_report(context: ContextTypes.DEFAULT_TYPE, business_date) -> None:
    """After servicing: every rule, then a summary and a chart to every operator; the chart
    is also saved beside the database."""
    found = services(context)
    await risk_service.evaluate(found.uow, found.clock, found.risk, business_date,
                                found.operator_ids, ALL_RULES)
    async with found.uow() as tx:
        stats = await tx.risk.book_stats(business_date)
        debits = await tx.risk.debit_history(window(business_date))
        overdue = await tx.risk.overdue_history(window(business_date))
        runs = {r.business_date: r.counts for r in await tx.servicing.runs(1)}
    # matplotlib is synchronous and takes a good second: draw in a thread, so the bot keeps
    # answering people meanwhile.
    png = await asyncio.to_thread(chart, business_date, stats, debits, overdue)
    if found.database_path is not None:
        folder = found.database_path.parent / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"daily-{business_date.isoformat()}.png").write_bytes(png)
    counts = runs.get(business_date, {"debited": 0, "failed": 0, "defaulted": 0})
    async with found.uow.read() as tx:
        exposure = dict(await tx.risk.exposure())
        edges = await tx.risk.cover_edges()
    for operator in sorted(found.operator_ids):
        say = Speaker(found.texts, await found.people.language(operator))
        caption = say("report.caption", date=business_date.isoformat(),
                      debited=counts["debited"], failed=counts["failed"],
                      defaulted=counts["defaulted"], overdue=overdue_total(stats),
                      alerts=stats["open_alerts"])
        network = "\n".join(await network_lines(found, exposure, edges, say))
        try:
            await context.bot.send_photo(operator, InputFile(png, filename="daily-report.png"),
                                         caption=caption)
            await context.bot.send_message(operator, network)
        except TelegramError:  # a report is best effort; the alerts went through the outbox
            log.warning("daily report not delivered to %s", operator, exc_info=True)
    await send_now(context)
