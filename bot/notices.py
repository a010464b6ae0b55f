"""Every kind of notice the core plans (core.outbox.NoticeKind), as Telegram shows it: its
text, how its values are written, and its keyboard. This table is the one place where a
planned fact becomes words; a test renders every kind in both languages.

A notice's params hold ids, amounts in fen, ISO dates and, for cover notices, ``party``:
the user who acted, whose name the sender looks up when it sends (so the outbox keeps no
names). Rows planned by an older version may still carry ``name`` and the ``_button`` and
``_money`` hints it used; the name is read, the hints are ignored: the kind decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.context import Speaker
from bot.formatting import day
from bot.report import network_lines, overdue_total
from core.money import Money
from core.outbox import NoticeKind, OutboxMessage, Party

Keyboard = Callable[[Mapping[str, Any], Speaker], InlineKeyboardMarkup | None]


@dataclass(frozen=True)
class Rendering:
    """How one kind is shown: ``text`` gives the words, ``keyboard`` the buttons under them."""

    text: Callable[[NoticeKind, Mapping[str, Any], Speaker], str]
    keyboard: Keyboard = lambda params, say: None


# -- cover requests and agreements: the kind's value is the text's key ----------------------
def _cover_text(*money: str) -> Callable[[NoticeKind, Mapping[str, Any], Speaker], str]:
    def text(kind: NoticeKind, params: Mapping[str, Any], say: Speaker) -> str:
        values = {k: v for k, v in params.items() if not k.startswith("_") and k != "party"}
        for name in money:
            values[name] = Money(int(values[name]))
        return say(kind.value, **values)
    return text


def _request_id(params: Mapping[str, Any]) -> int:
    # Invitations planned before notices were facts carried the id only in their button.
    return int(params["id"] if "id" in params else params["_button"][1])


def _view_request(params: Mapping[str, Any], say: Speaker) -> InlineKeyboardMarkup:
    return keyboards.view_request(_request_id(params), say)


def _revoke_request(params: Mapping[str, Any], say: Speaker) -> InlineKeyboardMarkup:
    return keyboards.revoke_request(_request_id(params), say)


# -- servicing: one text per kind and recipient's side --------------------------------------
def _role(params: Mapping[str, Any]) -> Party:
    return Party(params.get("role", Party.BORROWER))


def _servicing_text(kind: NoticeKind, params: Mapping[str, Any], say: Speaker) -> str:
    role = _role(params)
    values = {k: v for k, v in params.items() if k != "role"}
    if "amount" in values:
        values["amount"] = Money(int(values["amount"]))
    for name in ("due", "next"):
        if name in values:
            values[name] = day(date.fromisoformat(values[name]), say.language)
    if "days" in values:
        days = int(values["days"])
        values["when"] = (say("when.0") if days == 0 else say("when.1") if days == 1
                          else say("when.n", days=days))
    return say(f"notice.{kind.value}.{role.value}", **values) + _still_overdue(kind, role,
                                                                               params, say)


def _still_overdue(kind: NoticeKind, role: Party, params: Mapping[str, Any],
                   say: Speaker) -> str:
    """On a retry day the debit's notice is the day's one push about the instalment: it
    says the instalment is overdue too (to the borrower, with what is still unpaid)."""
    late, unpaid = int(params.get("late", 0)), int(params.get("unpaid", 0))
    if kind not in (NoticeKind.DEBIT_OK, NoticeKind.DEBIT_FAILED, NoticeKind.DEBIT_DEFAULT) \
            or late <= 0:
        return ""
    if role is Party.FRIEND and kind is NoticeKind.DEBIT_FAILED:
        return " " + say("notice.overdue_suffix.friend", days=late)
    if role is Party.BORROWER and unpaid > 0:
        return " " + say("notice.overdue_suffix.borrower", days=late, unpaid=Money(unpaid),
                         merchant=params["merchant"], seq=params["seq"], of=params["of"])
    return ""


def _payer_keyboard(params: Mapping[str, Any], say: Speaker) -> InlineKeyboardMarkup:
    """The friend looks at the wallet that pays; the borrower at the bills."""
    return keyboards.my_wallet(say) if _role(params) is Party.FRIEND else keyboards.my_bills(say)


def _completed_text(kind: NoticeKind, params: Mapping[str, Any], say: Speaker) -> str:
    return say("notice.agreement_completed", agreement=params["agreement"])


# -- operators --------------------------------------------------------------------------------
def _alert_text(kind: NoticeKind, p: Mapping[str, Any], say: Speaker) -> str:
    evidence = ", ".join(f"{k}={v}" for k, v in sorted(p["evidence"].items()))
    return say("notice.alert", id=p["id"], severity=p["severity"], rule=say(f"rule.{p['rule']}"),
               subject=p["subject"], evidence=evidence)


def _alert_keyboard(p: Mapping[str, Any], say: Speaker) -> InlineKeyboardMarkup | None:
    return keyboards.alert_actions([(int(p["id"]), p["subject"])], say)


def _report_caption(kind: NoticeKind, report: Mapping[str, Any], say: Speaker) -> str:
    """The caption under the daily chart (the sender draws the chart)."""
    counts = report["counts"]
    return say("report.caption", date=report["date"], debited=counts["debited"],
               failed=counts["failed"], defaulted=counts["defaulted"],
               overdue=overdue_total(report["stats"]), alerts=report["stats"]["open_alerts"])


def _network_text(kind: NoticeKind, network: Mapping[str, Any], say: Speaker) -> str:
    return "\n".join(network_lines(dict(network), say))


RENDERINGS: dict[NoticeKind, Rendering] = {
    NoticeKind.INVITED: Rendering(_cover_text(), _view_request),
    NoticeKind.OPENED: Rendering(_cover_text()),
    NoticeKind.ACCEPTED: Rendering(_cover_text(), _revoke_request),
    NoticeKind.DECLINED: Rendering(_cover_text()),
    NoticeKind.DECLINED_BY_REVIEW: Rendering(_cover_text()),
    NoticeKind.CANCELLED: Rendering(_cover_text()),
    NoticeKind.REVOKED: Rendering(_cover_text()),
    NoticeKind.EXPIRED: Rendering(_cover_text()),
    NoticeKind.SIGNED: Rendering(_cover_text("total")),
    NoticeKind.ENDED_BY_FRIEND: Rendering(_cover_text()),
    NoticeKind.ENDED_BY_BORROWER: Rendering(_cover_text()),
    NoticeKind.TOPPED_UP: Rendering(_cover_text("amount", "balance")),
    NoticeKind.DEBIT_OK: Rendering(_servicing_text, _payer_keyboard),
    NoticeKind.DEBIT_FAILED: Rendering(_servicing_text, _payer_keyboard),
    NoticeKind.DEBIT_DEFAULT: Rendering(_servicing_text, _payer_keyboard),
    NoticeKind.REMINDER_DUE: Rendering(_servicing_text, _payer_keyboard),
    NoticeKind.REMINDER_OVERDUE: Rendering(_servicing_text, _payer_keyboard),
    NoticeKind.AGREEMENT_COMPLETED: Rendering(_completed_text),
    NoticeKind.ALERT: Rendering(_alert_text, _alert_keyboard),
    NoticeKind.DAILY_REPORT: Rendering(_report_caption),
    NoticeKind.DAILY_NETWORK: Rendering(_network_text),
}


def render(message: OutboxMessage, say: Speaker, name: str | None = None
           ) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of a planned notice; ``name`` is the acting party's, looked up
    by the sender. A kind this version does not know gets a neutral text, not a crash."""
    try:
        kind = NoticeKind(message.kind)
    except ValueError:
        return say("servicing.unknown_notice"), None
    rendering = RENDERINGS[kind]
    params = dict(message.params)
    if name is not None:
        params["name"] = name
    return rendering.text(kind, params, say), rendering.keyboard(params, say)
