"""Daily servicing for one business date (日终批处理), in this order, each step idempotent:

1. debit every friend's part whose next attempt falls by the date (attempt 0 on the due
   date, then the retry days after it); a debit's ledger key names the agreement, the
   instalment and the attempt, so nothing is ever debited twice. The debit that pays an
   agreement's last covered part completes it;
2. after the last failed retry, default liability: the part returns to the borrower as
   overdue, the friend's record carries the default, the agreement is suspended and its
   future parts return to the borrower;
3. mark instalments overdue;
4. plan the day's reminders and overdue notices into the outbox;
5. finish the date (with the risk rules and the daily report, see core.services.daily).

Every step reads what is still to do from the database through an index that leads with
what is due (a date, a status and a date), a page at a time, and commits a page
with its effects and counters in one transaction: a run killed anywhere and started again
finishes in the state an uninterrupted run reaches. A date that ran to its end is not run
again, so re-running it changes nothing and plans nothing, even after later dates ran.

Several workers on one PostgreSQL book run a date together: each joins the run and takes
pages nobody else holds (a slice of the debits' friends, the overdue instalments, a slice
of the reminders: row locks that end with the page's transaction, or with a killed worker's
connection, so its page goes to another). A step ends for everyone only when nothing of
it is left, held or not, so the steps keep their order across workers; the date is
finished, and its risk rules and report done, by one of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.accounts import debit_key, receivable_of, wallet_of
from core.agreement import AgreementStatus
from core.clock import Clock, business_date
from core.due import DebitDue, DueInstalment
from core.events import SYSTEM, Event
from core.ledger import Account, InsufficientFunds, LedgerError, Transfer, TransferKind
from core.money import Money
from core.outbox import Notice, NoticeKind, Party, QuietHours
from core.ports import Conflict, UnitOfWork, UnitOfWorkFactory

PAGE = 500
REMINDER_SLICES = 16  # at most, per due date: enough to share among a few workers
CONFLICTS_IN_A_ROW = 20  # a page the book refuses this often is not bad luck
log = logging.getLogger(__name__)


async def _others_pages() -> None:
    """What is left of a step is held by other workers' pages: they end in milliseconds,
    or with their worker's connection (then the rows are free to take)."""
    await asyncio.sleep(0.02)


Wait = Callable[[], Awaitable[None]]


class StorageRefused(Exception):
    """The book refused a step (a constraint): a bug to look into, not a customer's fault."""


@dataclass(frozen=True, slots=True)
class ServicingPolicy:
    retry_days: tuple[int, ...] = (1, 3)
    reminder_days: tuple[int, ...] = (3, 1, 0)
    overdue_days: tuple[int, ...] = (1, 3, 7)
    quiet: QuietHours = field(default_factory=QuietHours)
    page: int = PAGE
    slices: int = REMINDER_SLICES


@dataclass
class RunCounts:
    already_finished: bool = False  # the date had run to the end before: nothing was done
    debited: int = 0
    failed: int = 0
    retried: int = 0
    defaulted: int = 0
    overdue_marked: int = 0
    completed: int = 0
    reminders_planned: int = 0


class _Planner:
    """Notices collected in one page, planned with that page's transaction."""

    def __init__(self, clock: Clock, tz: ZoneInfo, quiet: QuietHours) -> None:
        self._clock, self._tz, self._quiet = clock, tz, quiet
        self.notices: list[tuple[Notice, datetime]] = []

    def add(self, notice: Notice) -> None:
        now = self._clock.now()
        self.notices.append((notice, now if notice.urgent else self._quiet.release(now, self._tz)))

    async def flush(self, tx: UnitOfWork) -> int:
        planned = await tx.outbox.plan(self.notices)
        self.notices = []
        return planned


async def run_servicing(uow: UnitOfWorkFactory, clock: Clock, tz: ZoneInfo,
                        policy: ServicingPolicy, day: date,
                        finish: Callable[[UnitOfWork], Awaitable[None]] | None = None,
                        wait: Wait = _others_pages) -> RunCounts:
    """Service ``day``, or join other workers servicing it. ``finish`` runs in the
    transaction that marks the date finished (the risk rules and the daily report): the
    date is finished exactly when it has run, and a crash before that commit leaves both
    to be done again. The counts are this worker's; the run's are in the book."""
    counts = RunCounts()
    async with uow() as tx:
        if await tx.servicing.finished(day):
            # Later dates may have changed the book since: running this one again would plan
            # notices it never planned. A finished date is done.
            return RunCounts(already_finished=True)
        await tx.servicing.start_run(day)
        await tx.commit()
    await _debits(uow, clock, tz, policy, day, counts, wait)
    await _overdue(uow, policy, day, counts, wait)
    await _reminders(uow, clock, tz, policy, day, counts, wait)
    async with uow() as tx:
        if not await tx.servicing.finish_run(day):
            return counts  # another worker finished it, its rules and report with it
        if finish is not None:
            try:
                async with tx.savepoint():
                    await finish(tx)
            except Exception:
                # A bug in a rule or the report must not hold servicing itself back: the
                # date finishes, its money moved; the error is there for operators to see.
                log.exception("servicing %s: risk rules or the daily report failed", day)
        await tx.commit()
    return counts


async def _pages(uow: UnitOfWorkFactory, page: Callable[[], Awaitable[bool]],
                 left: Callable[[UnitOfWork], Awaitable[bool]], wait: Wait, step: str,
                 day: date) -> None:
    """One step's pages until nothing of it is left. ``page`` does one in its own unit
    (False: it found none to take); ``left`` says whether any is still to do, held by
    other workers (then they are on it: wait, and look again; a killed worker's rows are
    free to take the next time). A page the book refused because another unit ran over
    the same rows at once is taken again."""
    conflicts = 0
    pages = waits = collisions = 0
    started = time.perf_counter()  # for the log only: what a step cost, not what is due
    while True:
        try:
            took = await page()
        except Conflict as error:
            conflicts += 1
            collisions += 1
            if conflicts >= CONFLICTS_IN_A_ROW:
                raise
            log.warning("servicing %s, %s: a page collided with another unit (%s);"
                        " taking it again", day, step, error)
            continue
        conflicts = 0
        pages += took
        if not took:
            async with uow.read() as tx:
                if not await left(tx):
                    log.info("servicing %s, %s: %d pages here in %.2f s (%d waits for other"
                             " workers, %d collisions)", day, step, pages,
                             time.perf_counter() - started, waits, collisions)
                    return
            waits += 1
            await wait()


async def _debits(uow: UnitOfWorkFactory, clock: Clock, tz: ZoneInfo, policy: ServicingPolicy,
                  day: date, counts: RunCounts, wait: Wait) -> None:
    """The parts due, a slice of friends at a time (the first worker here cuts them), a
    page per unit: a friend's parts are debited by one worker, in their order."""
    async with uow() as tx:
        if await tx.servicing.slice_debits(day, policy.page, policy.slices):
            await tx.commit()

    async def page() -> bool:
        planner = _Planner(clock, tz, policy.quiet)
        done = RunCounts()
        async with uow() as tx:
            part = await tx.servicing.take_debit_slice(day)
            if part is None:
                return False
            due = await tx.servicing.debits_due(part, policy.page)
            accounts = await _accounts(tx, due)
            held = await tx.servicing.hold_accounts(
                sorted({a.id for pair in accounts.values() for a in pair}))
            # A friend whose wallet, or one of whose borrowers' receivables, another unit
            # holds waits for the slice's next page, all of their parts from that one on:
            # their order is the order a short wallet pays them in.
            later: set[int] = set()
            for debit in due:
                wallet, receivable = accounts[debit.friend_id, debit.borrower_id]
                if debit.friend_id in later or not {wallet.id, receivable.id} <= held:
                    later.add(debit.friend_id)
                    continue
                try:
                    async with tx.savepoint():
                        await _debit(tx, policy, day, debit, wallet, receivable, done, planner)
                except (LedgerError, StorageRefused) as error:
                    # One part the book refuses must not stop everyone's servicing: it is
                    # set aside for operators and tried again tomorrow.
                    log.error("debit of instalment %s (agreement %s) refused: %s",
                              debit.instalment_id, debit.agreement_id, error)
                    # Not an attempt: nobody was told, so the day's reminders still go.
                    await tx.servicing.debit_set_aside(debit, day + timedelta(days=1))
                    await tx.events.append(Event(SYSTEM, f"instalment:{debit.instalment_id}",
                                                 "debit.error", {"agreement": debit.agreement_id,
                                                                 "error": str(error)[:200]},
                                                 parties=_both(debit)))
                    done.failed += 1
            if len(due) < policy.page and not later:
                await tx.servicing.debit_slice_finished(part)
            elif len(later) == len({d.friend_id for d in due}):
                return False  # every one of them held elsewhere: nothing done, look again
            await planner.flush(tx)
            await tx.servicing.add_counts(day, debited=done.debited, failed=done.failed,
                                          retried=done.retried, defaulted=done.defaulted,
                                          completed=done.completed)
            await tx.commit()
        for name in ("debited", "failed", "retried", "defaulted", "completed"):
            setattr(counts, name, getattr(counts, name) + getattr(done, name))
        return True

    await _pages(uow, page, lambda tx: tx.servicing.debit_slices_left(day), wait, "debits",
                 day)


async def _accounts(tx: UnitOfWork, due: list[DebitDue]
                    ) -> dict[tuple[int, int], tuple[Account, Account]]:
    """The wallet and the receivable each of the page's debits moves, looked up once each."""
    wallets: dict[int, Account] = {}
    receivables: dict[int, Account] = {}
    pairs = {}
    for debit in due:
        if debit.friend_id not in wallets:
            wallets[debit.friend_id] = await wallet_of(tx.ledger, debit.friend_id)
        if debit.borrower_id not in receivables:
            receivables[debit.borrower_id] = await receivable_of(tx.ledger, debit.borrower_id)
        pairs[debit.friend_id, debit.borrower_id] = (wallets[debit.friend_id],
                                                     receivables[debit.borrower_id])
    return pairs


async def _debit(tx: UnitOfWork, policy: ServicingPolicy, day: date, debit, wallet: Account,
                 receivable: Account, counts: RunCounts, planner: _Planner) -> None:
    # The page was read without locks: the part may have been returned since. Its
    # agreement is held from here to the unit's end, so a termination waits for this debit.
    if not await tx.servicing.claim(debit):
        return
    subject = f"instalment:{debit.instalment_id}"
    instalment = await tx.bills.instalment(debit.instalment_id)
    if instalment is None or debit.amount > instalment.outstanding:
        raise StorageRefused(f"part {debit.amount} exceeds what is left of the instalment")
    # On a retry day the instalment is overdue too: the debit's notice says so (with what is
    # still unpaid), and the day's overdue reminder to these two is not sent on top of it.
    facts = {"agreement": debit.agreement_id, "amount": debit.amount.fen,
             "attempt": debit.attempts, "merchant": debit.merchant, "seq": debit.seq,
             "of": debit.of, "due": debit.due_date.isoformat(), "instalment": debit.instalment_id,
             "late": max(0, (day - debit.due_date).days),
             "unpaid": instalment.outstanding.fen}
    try:
        posted = await tx.ledger.post(Transfer.between(
            debit_key(debit.agreement_id, debit.instalment_id, debit.attempts),
            TransferKind.DEBIT,
            wallet.id, receivable.id, debit.amount, memo=f"instalment {debit.instalment_id}"))
    except InsufficientFunds:
        await _failed(tx, policy, day, debit, counts, planner, subject, facts)
        return
    await tx.servicing.debit_succeeded(debit, day, posted.id)
    complete = await tx.bills.record_payment(debit.instalment_id, debit.friend_id, debit.amount,
                                             "debit", posted.id, day)
    facts = {**facts, "unpaid": (instalment.outstanding - debit.amount).fen}
    events = [Event(SYSTEM, subject, "debit.succeeded", {**facts, "transfer": posted.id},
                    parties=_both(debit))]
    if complete:
        events.append(Event(SYSTEM, subject, "instalment.paid",
                            {"last_payment": posted.id, "agreement": debit.agreement_id},
                            parties=_both(debit)))
    # The last covered part paid: the agreement is complete (only a debit can take a part
    # out of cover without ending the agreement, so this is the one place to look).
    if not await tx.servicing.has_covered_parts(debit.agreement_id):
        await tx.cover.end_agreement(debit.agreement_id, AgreementStatus.COMPLETED, "paid")
        events.append(Event(SYSTEM, f"agreement:{debit.agreement_id}", "agreement.completed",
                            {}, parties=_both(debit)))
        counts.completed += 1
        for party, _ in _parties(debit):
            planner.add(Notice(f"{party}:agreement:{debit.agreement_id}:completed", party,
                               NoticeKind.AGREEMENT_COMPLETED,
                               {"agreement": debit.agreement_id}))
    await tx.events.append_many(events)
    counts.debited += 1
    counts.retried += debit.attempts > 0
    for party, role in _parties(debit):
        planner.add(Notice(f"{party}:{debit.instalment_id}:{debit.agreement_id}:debit_ok",
                           party, NoticeKind.DEBIT_OK, {**facts, "role": role}))


def _parties(debit) -> tuple[tuple[int, Party], tuple[int, Party]]:
    return (debit.friend_id, Party.FRIEND), (debit.borrower_id, Party.BORROWER)


def _both(debit) -> tuple[int, int]:
    """A debit concerns the friend who pays and the borrower whose instalment it is."""
    return debit.borrower_id, debit.friend_id


async def _failed(tx: UnitOfWork, policy: ServicingPolicy, day: date, debit, counts: RunCounts,
                  planner: _Planner, subject: str, facts: dict) -> None:
    attempt = debit.attempts
    counts.failed += 1
    counts.retried += attempt > 0
    if attempt < len(policy.retry_days):
        next_on = debit.due_date + timedelta(days=policy.retry_days[attempt])
        next_on = max(next_on, day + timedelta(days=1))
        await tx.servicing.debit_failed(debit, day, next_on, defaulted=False)
        await tx.events.append(Event(SYSTEM, subject, "debit.failed",
                                     {**facts, "next_attempt": next_on.isoformat()},
                                     parties=_both(debit)))
        for party, role in _parties(debit):
            planner.add(Notice(f"{party}:{debit.instalment_id}:{debit.agreement_id}:"
                               f"debit_failed:{attempt}", party, NoticeKind.DEBIT_FAILED,
                               {**facts, "next": next_on.isoformat(), "role": role},
                               urgent=True))
        return
    # The last retry failed: default liability.
    await tx.servicing.debit_failed(debit, day, None, defaulted=True)
    returned = await tx.servicing.return_future_parts(debit.agreement_id, day)
    await tx.cover.end_agreement(debit.agreement_id, AgreementStatus.DEFAULTED,
                                 f"debit of instalment {debit.instalment_id} failed")
    await tx.events.append_many(
        [Event(SYSTEM, subject, "debit.defaulted", facts, parties=_both(debit)),
         Event(SYSTEM, subject, "instalment.reverted", {"to": debit.borrower_id,
                                                        "agreement": debit.agreement_id},
               parties=_both(debit)),
         Event(SYSTEM, f"agreement:{debit.agreement_id}", "agreement.defaulted",
               {"instalment": debit.instalment_id, "returned": returned,
                "friend": debit.friend_id}, parties=_both(debit))]
        + [Event(SYSTEM, f"instalment:{i}", "instalment.returned",
                 {"agreement": debit.agreement_id}, parties=_both(debit)) for i in returned])
    counts.defaulted += 1
    for party, role in _parties(debit):
        planner.add(Notice(f"{party}:{debit.instalment_id}:{debit.agreement_id}:default", party,
                           NoticeKind.DEBIT_DEFAULT,
                           {**facts, "returned": len(returned), "role": role},
                           urgent=True))


async def _overdue(uow: UnitOfWorkFactory, policy: ServicingPolicy, day: date,
                   counts: RunCounts, wait: Wait) -> None:
    async def page() -> bool:
        async with uow() as tx:
            marked = await tx.servicing.mark_overdue(day, policy.page)
            if not marked:
                return False
            # Overdue concerns the borrower and the friends still covering a part of it
            # (they are told too).
            await tx.events.append_many([
                Event(SYSTEM, f"instalment:{i}", "instalment.overdue",
                      {"borrower": borrower, "due": due, "friends": list(friends)},
                      parties=(borrower, *friends))
                for i, borrower, due, friends in marked])
            await tx.servicing.add_counts(day, overdue_marked=len(marked))
            await tx.commit()
        counts.overdue_marked += len(marked)
        return True

    await _pages(uow, page, lambda tx: tx.servicing.overdue_left(day), wait, "overdue", day)


async def _reminders(uow: UnitOfWorkFactory, clock: Clock, tz: ZoneInfo,
                     policy: ServicingPolicy, day: date, counts: RunCounts,
                     wait: Wait) -> None:
    """Before the due date to whoever pays (friends for their parts, the borrower for the
    rest); after it, escalating overdue notices to the payers and the borrower. Planned a
    slice of one due date at a time (the first worker here cuts them), a page per unit.

    A date caught up late (the bot was down) plans none: "due in 3 days" arriving on the due
    date misleads, and today's own run plans every reminder that is still true."""
    if day < business_date(clock.now(), tz):
        return
    schedule = [(day + timedelta(days=d), "due", d) for d in policy.reminder_days]
    schedule += [(day - timedelta(days=d), "overdue", d) for d in policy.overdue_days]
    async with uow() as tx:
        if await tx.servicing.slice_reminders(day, schedule, policy.page, policy.slices):
            await tx.commit()

    async def page() -> bool:
        planner = _Planner(clock, tz, policy.quiet)
        async with uow() as tx:
            part = await tx.servicing.take_slice(day)
            if part is None:
                return False
            due = await tx.servicing.unpaid_due_on(part.due_date, part.done_upto,
                                                   policy.page, day, part.upto_id)
            for inst in due:
                _remind(planner, inst, part.kind, part.days, day)
            planned = await planner.flush(tx)
            await tx.servicing.slice_done_upto(
                part, due[-1].instalment_id if due else part.done_upto,
                finished=len(due) < policy.page)
            await tx.servicing.add_counts(day, reminders_planned=planned)
            await tx.commit()
        counts.reminders_planned += planned
        return True

    await _pages(uow, page, lambda tx: tx.servicing.slices_left(day), wait, "reminders", day)


def _remind(planner: _Planner, inst: DueInstalment, kind: str, days: int, day: date) -> None:
    reminder = NoticeKind.REMINDER_DUE if kind == "due" else NoticeKind.REMINDER_OVERDUE
    facts = {"instalment": inst.instalment_id, "merchant": inst.merchant,
             "seq": inst.seq, "of": inst.of, "due": inst.due_date.isoformat(),
             "days": days}
    own = inst.amount - inst.paid - Money(sum(p.fen for _, p in inst.parts))
    by_friend: dict[int, int] = {}
    for friend, part in inst.parts:  # one friend may hold two agreements
        by_friend[friend] = by_friend.get(friend, 0) + part.fen
    # On the due date the friend's debit ran earlier in this same run, and its notice
    # (paid, or failed and when it is tried again) says more; on a retry day that notice
    # says it is overdue too, to the friend and the borrower alike, so neither gets a
    # second push about it.
    told = set(inst.debited_on_day)
    friends = {} if kind == "due" and days == 0 else by_friend
    if kind == "overdue":
        friends = {f: fen for f, fen in friends.items() if f not in told}
    for friend, fen in friends.items():
        planner.add(Notice(f"{friend}:{inst.instalment_id}:{kind}{days}:{day}",
                           friend, reminder, {**facts, "amount": fen, "role": Party.FRIEND}))
    if (own.fen > 0 or kind == "overdue") and not (kind == "overdue" and told):
        amount = own if own.fen > 0 else inst.amount - inst.paid
        planner.add(Notice(f"{inst.borrower_id}:{inst.instalment_id}:{kind}{days}:{day}",
                           inst.borrower_id, reminder,
                           {**facts, "amount": amount.fen, "role": Party.BORROWER}))


def business_dates_to_run(last_finished: date | None, today: date,
                          first_day: date | None = None) -> list[date]:
    """Dates a scheduler must run, oldest first: every day after the last finished run up to
    today (a bot that was down catches up), or just today on a fresh book."""
    if last_finished is None:
        return [first_day or today]
    start = last_finished + timedelta(days=1)
    return [start + timedelta(days=k) for k in range((today - start).days + 1)]
