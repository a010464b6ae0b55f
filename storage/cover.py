"""Cover requests and agreements on SQLite."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core.agreement import Agreement, AgreementStatus, AgreementText, CoveredInstalment, fingerprint
from core.capacity import FriendPosition
from core.clock import Clock, parse_utc_iso, utc_iso
from core.cover import CoverRequest, CoverStatus, Route
from core.money import Money
from core.users import Language
from core.views import AgreementView, CoverPart, PartyName, RequestView
from storage.dialect import POSTGRES, SQLITE, Dialect
from storage.sql import Sql


def _request_select(d: Dialect) -> str:
    return ("SELECT r.id, r.borrower_id, r.bill_id, r.share_bp, r.route, r.friend_id, r.status,"
            " r.created_at, r.expires_at, r.token_salt, r.token_hash,"
            f" (SELECT {d.list_of('instalment_id')} FROM cover_request_instalments c"
            "  WHERE c.request_id = r.id) AS instalments FROM cover_requests r")


_AGREEMENT = ("SELECT id, request_id, borrower_id, friend_id, bill_id, share_bp, version,"
              " language, text, text_sha256, signed_at, status, translation,"
              " translation_language FROM agreements")
_OPEN = "('pending', 'opened', 'accepted')"
_AGREEMENT_VIEW = (
    "SELECT a.id, a.request_id, a.borrower_id, a.friend_id, a.bill_id, a.share_bp, a.version,"
    " a.language, a.text, a.text_sha256, a.signed_at, a.status, a.translation,"
    " a.translation_language, b.merchant,"
    " ub.display_name AS borrower_name, ib.legal_name AS borrower_legal,"
    " uf.display_name AS friend_name, if_.legal_name AS friend_legal"
    " FROM agreements a JOIN bills b ON b.id = a.bill_id"
    " LEFT JOIN users ub ON ub.id = a.borrower_id"
    " LEFT JOIN identities ib ON ib.user_id = a.borrower_id"
    " LEFT JOIN users uf ON uf.id = a.friend_id"
    " LEFT JOIN identities if_ ON if_.user_id = a.friend_id")
_REQUEST = {d: _request_select(d) for d in (SQLITE, POSTGRES)}
_REQUEST_VIEW = {d: sql.replace(
    " FROM cover_requests r",
    ", b.merchant, u.display_name AS friend_name, i.legal_name AS friend_legal"
    " FROM cover_requests r JOIN bills b ON b.id = r.bill_id"
    " LEFT JOIN users u ON u.id = r.friend_id LEFT JOIN identities i ON i.user_id = r.friend_id")
    for d, sql in _REQUEST.items()}


def _party(user_id: int, name: str | None, legal: str | None) -> PartyName:
    return PartyName(user_id, name or "", legal)


def _request(row: Any) -> CoverRequest:
    ids = tuple(sorted(int(i) for i in (row["instalments"] or "").split(",") if i))
    return CoverRequest(
        id=row["id"], borrower_id=row["borrower_id"], bill_id=row["bill_id"],
        instalment_ids=ids, share_bp=row["share_bp"], route=Route(row["route"]),
        friend_id=row["friend_id"], status=CoverStatus(row["status"]),
        created_at=parse_utc_iso(row["created_at"]), expires_at=parse_utc_iso(row["expires_at"]),
        token_salt=row["token_salt"], token_hash=row["token_hash"])


def _agreement(row: Any) -> Agreement:
    return Agreement(
        id=row["id"], request_id=row["request_id"], borrower_id=row["borrower_id"],
        friend_id=row["friend_id"], bill_id=row["bill_id"], share_bp=row["share_bp"],
        version=row["version"], language=Language(row["language"]), text=row["text"],
        text_sha256=row["text_sha256"], signed_at=parse_utc_iso(row["signed_at"]),
        status=AgreementStatus(row["status"]), translation=row["translation"],
        translation_language=(Language(row["translation_language"])
                              if row["translation_language"] else None))


class CoverStore:
    def __init__(self, conn: Sql, clock: Clock, dialect: Dialect = SQLITE,
                 locking: bool = False) -> None:
        self._conn = conn
        self._clock = clock
        self._request_sql = _REQUEST[dialect]
        self._request_view_sql = _REQUEST_VIEW[dialect]
        # In a writing unit a request or agreement read by id stays as read until the unit
        # ends: two presses, two acceptances, a debit and a termination go one at a time.
        self._locks = dialect.locker(locking)

    # -- requests --------------------------------------------------------------------------
    async def add_request(self, *, borrower_id: int, bill_id: int, instalment_ids: list[int],
                          share_bp: int, route: Route, friend_id: int | None, token_hash: str,
                          token_salt: str, expires_at: datetime) -> CoverRequest:
        now = utc_iso(self._clock.now())
        rows = await self._conn.execute_fetchall(
            "INSERT INTO cover_requests (borrower_id, bill_id, share_bp, route, friend_id,"
            " status, token_hash, token_salt, created_at, expires_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?) RETURNING id",
            (borrower_id, bill_id, share_bp, route.value, friend_id, token_hash, token_salt,
             now, utc_iso(expires_at), now))
        request_id = rows[0]["id"]
        await self._conn.executemany(
            "INSERT INTO cover_request_instalments (request_id, instalment_id) VALUES (?, ?)",
            [(request_id, i) for i in instalment_ids])
        request = await self.request(request_id)
        assert request is not None
        return request

    async def request(self, request_id: int) -> CoverRequest | None:
        rows = await self._conn.execute_fetchall(
            f"{self._request_sql} WHERE r.id = ?{self._locks('r')}", (request_id,))
        return _request(rows[0]) if rows else None

    async def request_by_token_hash(self, token_hash: str) -> CoverRequest | None:
        rows = await self._conn.execute_fetchall(
            f"{self._request_sql} WHERE r.token_hash = ?{self._locks('r')}", (token_hash,))
        return _request(rows[0]) if rows else None

    async def add_holder(self, request_id: int, user_id: int) -> None:
        await self._conn.execute(
            "INSERT INTO cover_request_holders (request_id, user_id, opened_at)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (request_id, user_id, utc_iso(self._clock.now())))

    async def holds(self, request_id: int, user_id: int) -> bool:
        rows = await self._conn.execute_fetchall(
            "SELECT 1 FROM cover_request_holders WHERE request_id = ? AND user_id = ?",
            (request_id, user_id))
        return bool(rows)

    async def save_request(self, request: CoverRequest, expected: CoverStatus) -> bool:
        """Store a transition; False if the request moved on meanwhile (compare-and-set)."""
        cursor = await self._conn.execute(
            "UPDATE cover_requests SET status = ?, friend_id = ?, updated_at = ?"
            " WHERE id = ? AND status = ?",
            (request.status.value, request.friend_id, utc_iso(self._clock.now()), request.id,
             expected.value))
        return cursor.rowcount == 1

    async def set_income_band(self, request_id: int, band: str) -> None:
        await self._conn.execute("UPDATE cover_requests SET income_band = ? WHERE id = ?",
                                 (band, request_id))

    async def income_band(self, request_id: int) -> str | None:
        rows = await self._conn.execute_fetchall(
            "SELECT income_band FROM cover_requests WHERE id = ?", (request_id,))
        return rows[0][0] if rows else None

    async def requests_of_borrower(self, borrower_id: int, limit: int = 20) -> list[CoverRequest]:
        rows = await self._conn.execute_fetchall(
            f"{self._request_sql} WHERE r.borrower_id = ? ORDER BY r.id DESC LIMIT ?",
            (borrower_id, limit))
        return [_request(r) for r in rows]

    async def request_views_of_borrower(self, borrower_id: int, limit: int = 20
                                        ) -> list[RequestView]:
        """The borrower's latest requests with each one's merchant and friend, in one query."""
        rows = await self._conn.execute_fetchall(
            f"{self._request_view_sql} WHERE r.borrower_id = ? ORDER BY r.id DESC LIMIT ?",
            (borrower_id, limit))
        return [RequestView(_request(r), r["merchant"],
                            _party(r["friend_id"], r["friend_name"], r["friend_legal"])
                            if r["friend_id"] is not None else None) for r in rows]

    async def created_since(self, borrower_id: int, since: datetime) -> int:
        rows = await self._conn.execute_fetchall(
            "SELECT COUNT(*) FROM cover_requests WHERE borrower_id = ? AND created_at >= ?",
            (borrower_id, utc_iso(since)))
        return rows[0][0]

    async def open_requests_to_expire(self, now: datetime, limit: int) -> list[CoverRequest]:
        rows = await self._conn.execute_fetchall(
            f"{self._request_sql} WHERE r.status IN {_OPEN} AND r.expires_at <= ? LIMIT ?",
            (utc_iso(now), limit))
        # No ORDER BY: each expired one leaves the set, and a sort would read all of it.
        return sorted((_request(r) for r in rows), key=lambda r: r.id)

    async def room(self, instalment_ids: list[int],
                   exclude_request: int | None = None) -> dict[int, Money]:
        """Per instalment, what is still free to cover, in fen: its amount less what was
        paid, less friends' parts still to debit, less the parts open requests ask for."""
        if not instalment_ids:
            return {}
        marks = ",".join("?" * len(instalment_ids))
        rows = await self._conn.execute_fetchall(
            "SELECT i.id, i.principal + i.fee - i.paid_amount"
            " - (SELECT COALESCE(SUM(ai.amount), 0) FROM agreement_instalments ai"
            "    WHERE ai.instalment_id = i.id AND ai.status = 'covered')"
            " - (SELECT COALESCE(SUM((i.principal + i.fee) * r.share_bp / 10000), 0)"
            "    FROM cover_request_instalments c JOIN cover_requests r ON r.id = c.request_id"
            f"   WHERE c.instalment_id = i.id AND r.status IN {_OPEN} AND r.id != ?)"
            f" FROM instalments i WHERE i.id IN ({marks})",
            [exclude_request or 0, *instalment_ids])
        return {r[0]: Money(max(0, r[1])) for r in rows}

    async def parties_on_bill(self, bill_id: int) -> int:
        """How many requests or agreements are asking for or covering this bill now."""
        rows = await self._conn.execute_fetchall(
            f"SELECT (SELECT COUNT(*) FROM cover_requests WHERE bill_id = ? AND status IN {_OPEN})"
            " + (SELECT COUNT(*) FROM agreements a WHERE a.bill_id = ? AND (a.status = 'active'"
            "    OR EXISTS (SELECT 1 FROM agreement_instalments ai WHERE ai.agreement_id = a.id"
            "               AND ai.status = 'covered')))",
            (bill_id, bill_id))
        return rows[0][0]

    # -- agreements ------------------------------------------------------------------------
    async def add_agreement(self, request: CoverRequest, friend_id: int, share_bp: int,
                            text: AgreementText, parts: list[tuple[int, Money]],
                            shown_chat_id: int | None, shown_message_id: int | None,
                            translation: AgreementText | None = None) -> Agreement:
        assert fingerprint(text.text) == text.sha256
        rows = await self._conn.execute_fetchall(
            "INSERT INTO agreements (request_id, borrower_id, friend_id, bill_id, share_bp,"
            " version, language, text, text_sha256, signed_at, shown_chat_id, shown_message_id,"
            " translation, translation_language)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (request.id, request.borrower_id, friend_id, request.bill_id, share_bp, text.version,
             text.language.value, text.text, text.sha256, utc_iso(self._clock.now()),
             shown_chat_id, shown_message_id, translation.text if translation else None,
             translation.language.value if translation else None))
        agreement_id = rows[0]["id"]
        await self._conn.executemany(
            "INSERT INTO agreement_instalments (agreement_id, instalment_id, amount)"
            " VALUES (?, ?, ?)", [(agreement_id, i, part.fen) for i, part in parts])
        agreement = await self.agreement(agreement_id)
        assert agreement is not None
        return agreement

    async def agreement(self, agreement_id: int) -> Agreement | None:
        rows = await self._conn.execute_fetchall(f"{_AGREEMENT} WHERE id = ?{self._locks()}",
                                                 (agreement_id,))
        return _agreement(rows[0]) if rows else None

    async def agreement_for_request(self, request_id: int) -> Agreement | None:
        rows = await self._conn.execute_fetchall(f"{_AGREEMENT} WHERE request_id = ?",
                                                 (request_id,))
        return _agreement(rows[0]) if rows else None

    async def agreement_views_of(self, user_id: int, limit: int = 20) -> list[AgreementView]:
        """The most recent agreements where the user is either party, each with its merchant
        and both parties' names, in one query."""
        rows = await self._conn.execute_fetchall(
            f"{_AGREEMENT_VIEW} WHERE a.id IN (SELECT id FROM agreements WHERE friend_id = ?"
            " UNION SELECT id FROM agreements WHERE borrower_id = ?) ORDER BY a.id DESC LIMIT ?",
            (user_id, user_id, limit))
        return [AgreementView(_agreement(r), r["merchant"],
                              _party(r["borrower_id"], r["borrower_name"], r["borrower_legal"]),
                              _party(r["friend_id"], r["friend_name"], r["friend_legal"]))
                for r in rows]

    async def covered(self, agreement_id: int) -> list[CoveredInstalment]:
        rows = await self._conn.execute_fetchall(
            "SELECT ai.agreement_id, ai.instalment_id, i.due_date, ai.amount, ai.status"
            " FROM agreement_instalments ai JOIN instalments i ON i.id = ai.instalment_id"
            " WHERE ai.agreement_id = ? ORDER BY i.due_date, i.id", (agreement_id,))
        return [CoveredInstalment(r[0], r[1], date.fromisoformat(r[2]), Money(r[3]), r[4])
                for r in rows]

    async def cover_parts_of_borrower(self, borrower_id: int) -> dict[int, list[CoverPart]]:
        """Per instalment of the borrower's, who covers what now, with the friend's name: one
        query for every bill /bills shows."""
        rows = await self._conn.execute_fetchall(
            "SELECT ai.instalment_id, a.friend_id, ai.amount, u.display_name, i.legal_name"
            " FROM agreements a JOIN agreement_instalments ai ON ai.agreement_id = a.id"
            " LEFT JOIN users u ON u.id = a.friend_id"
            " LEFT JOIN identities i ON i.user_id = a.friend_id"
            " WHERE a.borrower_id = ? AND ai.status = 'covered' ORDER BY a.id", (borrower_id,))
        covering: dict[int, list[CoverPart]] = {}
        for instalment_id, friend_id, amount, name, legal in rows:
            covering.setdefault(instalment_id, []).append(
                CoverPart(_party(friend_id, name, legal), Money(amount)))
        return covering

    async def return_instalments(self, agreement_id: int, instalment_ids: list[int]) -> None:
        await self._conn.executemany(
            "UPDATE agreement_instalments SET status = 'returned'"
            " WHERE agreement_id = ? AND instalment_id = ? AND status = 'covered'",
            [(agreement_id, i) for i in instalment_ids])

    async def end_agreement(self, agreement_id: int, status: AgreementStatus,
                            reason: str) -> bool:
        cursor = await self._conn.execute(
            "UPDATE agreements SET status = ?, ended_at = ?, end_reason = ?"
            " WHERE id = ? AND status = 'active'",
            (status.value, utc_iso(self._clock.now()), reason, agreement_id))
        return cursor.rowcount == 1

    async def friend_position(self, friend_id: int, today: date) -> tuple[
            dict[tuple[int, int], Money], int, Money, int, int]:
        """(amount due per month from now, active agreements, covered exposure, own overdue,
        agreements that ended in default)."""
        rows = await self._conn.execute_fetchall(
            "SELECT substr(i.due_date, 1, 7), SUM(i.principal + i.fee) FROM instalments i"
            " JOIN bills b ON b.id = i.bill_id WHERE b.borrower_id = ? AND i.status = 'unpaid'"
            " AND i.due_date >= ? GROUP BY 1"
            " UNION ALL SELECT substr(i.due_date, 1, 7), SUM(ai.amount)"
            " FROM agreement_instalments ai JOIN agreements a ON a.id = ai.agreement_id"
            " JOIN instalments i ON i.id = ai.instalment_id WHERE a.friend_id = ?"
            " AND ai.status = 'covered' AND i.status = 'unpaid'"
            " AND i.due_date >= ? GROUP BY 1",
            (friend_id, today.isoformat(), friend_id, today.isoformat()))
        monthly: dict[tuple[int, int], Money] = {}
        for month, amount in rows:
            key = (int(month[:4]), int(month[5:7]))
            monthly[key] = monthly.get(key, Money.zero()) + Money(amount)
        counts = await self._conn.execute_fetchall(
            "SELECT (SELECT COUNT(*) FROM agreements WHERE friend_id = ? AND status = 'active'),"
            " (SELECT COALESCE(SUM(ai.amount), 0) FROM agreement_instalments ai"
            "  JOIN agreements a ON a.id = ai.agreement_id JOIN instalments i"
            "  ON i.id = ai.instalment_id WHERE a.friend_id = ?"
            "  AND ai.status = 'covered' AND i.status = 'unpaid'),"
            " (SELECT COUNT(*) FROM instalments i JOIN bills b ON b.id = i.bill_id"
            "  WHERE b.borrower_id = ? AND i.status = 'unpaid' AND i.due_date < ?),"
            " (SELECT COUNT(DISTINCT ai.agreement_id) FROM agreement_instalments ai"
            "  JOIN agreements a ON a.id = ai.agreement_id"
            "  WHERE a.friend_id = ? AND ai.status = 'defaulted')",
            (friend_id, friend_id, friend_id, today.isoformat(), friend_id))
        active, exposure, overdue, defaults = counts[0]
        return FriendPosition(monthly, active, Money(exposure), overdue, defaults)
