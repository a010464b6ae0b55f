"""The daily run, one entry point for the bot's job and ``daihuan servicing`` alike: servicing
for each business date due, then every risk rule, then the daily report planned for each
operator through the outbox, so whichever process ran it, the running bot sends it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from core.clock import Clock, business_date
from core.network import connected_groups, top_friends
from core.outbox import IMMEDIATELY, Notice, NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.risk import RiskPolicy
from core.services import risk as risk_service
from core.services.cover import display_name
from core.services.servicing import RunCounts, ServicingPolicy, run_servicing

REPORT_DAYS = 30  # the chart's window of business dates


@dataclass(frozen=True, slots=True)
class DailyResult:
    runs: list[tuple[date, RunCounts]]
    alerts_raised: int
    reported: date | None  # the date the report was planned for, if any date ran


def report_window(day: date) -> date:
    """The first business date the report's history covers."""
    return day - timedelta(days=REPORT_DAYS - 1)


async def run_daily(uow: UnitOfWorkFactory, clock: Clock, tz: ZoneInfo,
                    servicing: ServicingPolicy, risk: RiskPolicy, operators: frozenset[int],
                    days: list[date]) -> DailyResult:
    """Service ``days`` in order (a date that ran to its end before is not run again); the
    last of them finishes with every risk rule and the daily report, in the transaction
    that marks it finished: after downtime operators want one report, of the book as it
    stands (each day's counts stay in /ops), and a crash never leaves a finished date
    without its report, nor a report of a different book."""
    raised: list[int] = []
    today = business_date(clock.now(), tz)

    async def rules_and_report(tx: UnitOfWork, day: date) -> None:
        # The rules judge the book as of today, whichever date was just serviced: an old
        # date run late must not clear alerts that still hold. The report is for the newest
        # serviced date only; an older one run late adds its counts to /ops, no report.
        evaluation = await risk_service.evaluate_in(tx, clock, risk, today, operators)
        raised.append(len(evaluation.raised))
        newest = await tx.servicing.last_finished()
        if newest is None or newest <= day:
            await plan_report_in(tx, day, operators)

    runs = []
    for n, day in enumerate(days):
        last = n == len(days) - 1
        finish = (lambda tx, d=day: rules_and_report(tx, d)) if last else None
        runs.append((day, await run_servicing(uow, clock, tz, servicing, day, finish)))
    async with uow.read() as tx:
        reported = days[-1] if raised and await tx.servicing.last_finished() == days[-1] \
            else None
    return DailyResult(runs, sum(raised), reported)


async def network_view(tx: UnitOfWork) -> dict[str, list]:
    """The friend network as it stands: the friends carrying the most (name, fen, share of
    all covered in basis points) and the largest connected groups (size, fen, share)."""
    exposure = dict(await tx.risk.exposure())
    edges = await tx.risk.cover_edges()
    return {"top": [[await display_name(tx, friend), fen, share]
                    for friend, fen, share in top_friends(exposure)],
            "groups": [[len(g.members), g.exposure, g.share_bp]
                       for g in connected_groups(edges, exposure)]}


async def plan_report_in(tx: UnitOfWork, day: date, operators: frozenset[int]) -> int:
    """The report's facts, as they stand at the end of the day's run, into the outbox for
    each operator: a chart with a summary, then the network view. Once per date and
    operator (the keys)."""
    stats = await tx.risk.book_stats(day)
    counts = next((r.counts for r in await tx.servicing.runs(REPORT_DAYS)
                   if r.business_date == day), {})
    report = {
        "date": day.isoformat(), "stats": stats,
        "counts": {k: counts.get(k, 0) for k in ("debited", "failed", "defaulted")},
        "debits": [list(row) for row in await tx.risk.debit_history(report_window(day))],
        "overdue": [list(row) for row in await tx.risk.overdue_history(report_window(day))],
    }
    network = await network_view(tx)
    planned = await tx.outbox.plan(
        [(Notice(f"report:{day.isoformat()}:{op}", op, NoticeKind.DAILY_REPORT, report,
                 urgent=True), IMMEDIATELY) for op in sorted(operators)]
        + [(Notice(f"report:{day.isoformat()}:{op}:network", op, NoticeKind.DAILY_NETWORK,
                   network, urgent=True), IMMEDIATELY) for op in sorted(operators)])
    return planned
