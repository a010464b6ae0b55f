"""Running the risk rules, raising and clearing alerts, and the operators' actions on them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from core import risk
from core.clock import Clock, business_date
from core.events import SYSTEM, Event, operator_actor, person_in
from core.outbox import IMMEDIATELY, Notice, NoticeKind
from core.ports import UnitOfWork, UnitOfWorkFactory
from core.risk import Finding, RiskPolicy

ALL_RULES = ("overdue", "exposure", "many_borrowers", "circular", "burst", "debit_failures",
             "shared_identity", "new_account_large")
# The rules worth running right after an action in chat (cheap, and about what just moved);
# the daily run evaluates them all.
ON_COVER = ("exposure", "many_borrowers", "circular", "burst", "new_account_large",
            "shared_identity")
ON_VERIFY = ("shared_identity",)


@dataclass(frozen=True, slots=True)
class Evaluation:
    raised: list[tuple[int, Finding]]
    cleared: int


async def evaluate(uow: UnitOfWorkFactory, clock: Clock, policy: RiskPolicy, today: date,
                   operators: frozenset[int], rules: tuple[str, ...] = ALL_RULES
                   ) -> Evaluation:
    """Run ``rules`` over the book; raise what is new (and tell every operator), clear what
    no longer holds. The same finding stays one alert until it clears."""
    async with uow() as tx:
        evaluation = await evaluate_in(tx, clock, policy, today, operators, rules)
        await tx.commit()
    return evaluation


async def evaluate_in(tx: UnitOfWork, clock: Clock, policy: RiskPolicy, today: date,
                      operators: frozenset[int], rules: tuple[str, ...] = ALL_RULES
                      ) -> Evaluation:
    """``evaluate`` inside a transaction someone else commits (the end of servicing)."""
    now = clock.now()
    raised: list[tuple[int, Finding]] = []
    cleared = 0
    facts = tx.risk
    for rule in rules:
        if rule == "overdue":
            found = risk.overdue(await facts.overdue(today, policy.overdue_days), policy)
        elif rule == "exposure":
            found = risk.exposure(await facts.exposure(), policy)
        elif rule == "many_borrowers":
            found = risk.many_borrowers(await facts.borrowers_per_friend(), policy)
        elif rule == "circular":
            found = risk.circular(await facts.cover_edges())
        elif rule == "burst":
            found = risk.bursts(await facts.bursts(now, policy.burst_minutes), policy)
        elif rule == "debit_failures":
            found = risk.debit_failures(
                await facts.debit_failures(now, policy.debit_failure_days), policy)
        elif rule == "shared_identity":
            found = risk.shared_identity(await facts.shared_identities(now, 30))
        elif rule == "new_account_large":
            found = risk.new_account_large(await facts.new_accounts_on_fresh_purchases(
                now, policy.fresh_purchase_hours), policy)
        else:
            raise ValueError(f"unknown rule {rule}")
        current = {f.key: f for f in found}
        open_now = await facts.open_keys(rule)
        for key in sorted(current.keys() - open_now.keys()):
            finding = current[key]
            alert_id = await facts.raise_alert(finding)
            raised.append((alert_id, finding))
            await tx.events.append(Event(SYSTEM, f"alert:{alert_id}", "alert.raised",
                                         {"rule": rule, "subject": finding.subject,
                                          "severity": finding.severity.value,
                                          "evidence": finding.evidence},
                                         parties=people_named(finding.subject,
                                                              finding.evidence)))
            await tx.outbox.plan(_alert_notices(
                alert_id, finding.rule, finding.severity.value, finding.subject,
                finding.evidence, operators))
        for key in sorted(open_now.keys() - current.keys()):
            await facts.clear(open_now[key])
            await tx.events.append(Event(SYSTEM, f"alert:{open_now[key]}", "alert.cleared",
                                         {"rule": rule},
                                         parties=await _alert_parties(tx, open_now[key])))
            cleared += 1
    return Evaluation(raised, cleared)


def people_named(subject: str, evidence: dict) -> tuple[int, ...]:
    """Whom an alert concerns: the person it is about, the borrower of an overdue
    instalment, everyone in a circle of cover."""
    people = set()
    person = person_in(subject)
    if person is not None:
        people.add(person)
    for value in (evidence.get("borrower"), evidence.get("other_user"),
                  *evidence.get("users", ())):
        if isinstance(value, int):
            people.add(value)
    return tuple(sorted(people))


async def _alert_parties(tx: UnitOfWork, alert_id: int) -> tuple[int, ...]:
    alert = await tx.risk.alert(alert_id)
    return people_named(alert.subject, alert.evidence) if alert is not None else ()


def _alert_notices(alert_id: int, rule: str, severity: str, subject: str, evidence: dict,
                   operators: frozenset[int]) -> list[tuple[Notice, datetime]]:
    """One notice per operator; the key makes planning it again a no-op."""
    params = {"id": alert_id, "rule": rule, "severity": severity, "subject": subject,
              "evidence": evidence}
    return [(Notice(f"alert:{alert_id}:{operator}", operator, NoticeKind.ALERT, params,
                    urgent=True),
             IMMEDIATELY) for operator in sorted(operators)]


async def announce_open_alerts(uow: UnitOfWorkFactory, operators: frozenset[int],
                               page: int = 200) -> int:
    """Tell every operator of each open alert they were not told of: alerts raised where
    no operator was known (a migration, a command line without OPERATOR_IDS) or before an
    operator was added. Run at start; returns how many notices were new."""
    planned, after = 0, 0
    while operators:
        async with uow() as tx:
            alerts = await tx.risk.open_alerts_after(after, page)
            if not alerts:
                break
            planned += await tx.outbox.plan([
                notice for a in alerts for notice in _alert_notices(
                    a.id, a.rule, a.severity, a.subject, a.evidence, operators)])
            await tx.commit()
        after = alerts[-1].id
    return planned


async def acknowledge(uow: UnitOfWorkFactory, *, alert_id: int, operator_id: int) -> bool:
    async with uow() as tx:
        done = await tx.risk.acknowledge(alert_id, operator_id)
        if done:
            await tx.events.append(Event(operator_actor(operator_id), f"alert:{alert_id}",
                                         "alert.acknowledged", {},
                                         parties=await _alert_parties(tx, alert_id)))
        await tx.commit()
    return done


async def set_frozen(uow: UnitOfWorkFactory, *, user_id: int, operator_id: int,
                     reason: str | None) -> bool:
    """Freeze (with a reason) or unfreeze (reason None). A frozen user can read but not buy,
    invite or accept. Returns whether anything changed."""
    async with uow() as tx:
        await tx.users.ensure(user_id)
        changed = await tx.risk.set_frozen(user_id, reason)
        if changed:
            await tx.events.append(Event(operator_actor(operator_id), f"user:{user_id}",
                                         "user.frozen" if reason else "user.unfrozen",
                                         {"reason": reason} if reason else {},
                                         parties=(user_id,)))
        await tx.commit()
    return changed


@dataclass(frozen=True)
class RiskDesk:
    """The risk service as the bot calls it, built once in the composition root: the store,
    the clock, the policy, the business timezone and the operators to tell are bound."""

    uow: UnitOfWorkFactory
    clock: Clock
    policy: RiskPolicy
    tz: ZoneInfo
    operators: frozenset[int]

    async def evaluate(self, rules: tuple[str, ...] = ALL_RULES) -> Evaluation:
        """Run ``rules`` as of today; new alerts are planned for the operators."""
        return await evaluate(self.uow, self.clock, self.policy,
                              business_date(self.clock.now(), self.tz), self.operators, rules)

    async def acknowledge(self, *, alert_id: int, operator_id: int) -> bool:
        return await acknowledge(self.uow, alert_id=alert_id, operator_id=operator_id)

    async def set_frozen(self, *, user_id: int, operator_id: int, reason: str | None) -> bool:
        return await set_frozen(self.uow, user_id=user_id, operator_id=operator_id,
                                reason=reason)
