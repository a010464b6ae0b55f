"""The few things SQLite and PostgreSQL say differently, said once.

The repositories write standard SQL with ``?`` placeholders (storage.pg.connection numbers
them for PostgreSQL); where the engines differ, a repository asks its dialect for the
fragment. Dates are 'YYYY-MM-DD' text and times ISO-8601 UTC text on both engines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str

    @property
    def postgres(self) -> bool:
        return self.name == "postgres"

    def list_of(self, expr: str) -> str:
        """The values of ``expr`` in a group, comma-separated text (NULL for none)."""
        return f"string_agg(({expr})::text, ',')" if self.postgres else f"group_concat({expr})"

    def later_of(self, a: str, b: str) -> str:
        return f"GREATEST({a}, {b})" if self.postgres else f"MAX({a}, {b})"

    def days_between(self, later: str, earlier: str) -> str:
        """Days from ``earlier`` to ``later`` (dates or times), with the fraction."""
        if self.postgres:
            return (f"(EXTRACT(EPOCH FROM (({later})::text::timestamptz"
                    f" - ({earlier})::text::timestamptz)) / 86400.0)")
        return f"(julianday({later}) - julianday({earlier}))"

    def whole_days(self, later: str, earlier: str) -> str:
        """Whole days from ``earlier`` to ``later``, the fraction dropped (towards zero)."""
        return f"CAST(trunc({self.days_between(later, earlier)}) AS BIGINT)" if self.postgres \
            else f"CAST({self.days_between(later, earlier)} AS INTEGER)"

    def day_after(self, day: str) -> str:
        return f"((({day})::date + 1)::text)" if self.postgres else f"date({day}, '+1 day')"

    def json_int(self, column: str, key: str) -> str:
        """The integer under ``key`` of a JSON object column."""
        return f"(({column} ->> '{key}')::bigint)" if self.postgres \
            else f"json_extract({column}, '$.{key}')"

    def not_by_index(self, column: str) -> str:
        """``column`` in a WHERE, telling SQLite's planner not to use an index on it (unary
        +); PostgreSQL's planner needs no such hint and has no + for text."""
        return column if self.postgres else f"+{column}"

    def among(self, column: str, subquery: str) -> str:
        """``column IN (subquery)`` for a subquery that picks a few keys (a page). PostgreSQL
        may plan IN as a join that reads the whole outer table, when it guesses the page is
        a sizeable part of it; = ANY (ARRAY(…)) runs the subquery first and looks the keys
        up by index."""
        return f"{column} = ANY (ARRAY({subquery}))" if self.postgres \
            else f"{column} IN ({subquery})"

    def indexed_by(self, index: str) -> str:
        return "" if self.postgres else f" INDEXED BY {index}"

    def locks(self, *of: str) -> str:
        """Row locks for a read that a write in the same transaction depends on (of the
        tables named by alias, or all of the read's). SQLite needs none: its one writer
        holds the whole database from BEGIN IMMEDIATE."""
        if not self.postgres:
            return ""
        return " FOR UPDATE" + (f" OF {', '.join(of)}" if of else "")

    def locker(self, locking: bool) -> Callable[..., str]:
        """``locks`` for a writing unit; nothing for a read-only one, where PostgreSQL
        refuses row locks and nothing is decided."""
        return self.locks if locking else _no_locks


def _no_locks(*of: str) -> str:
    return ""


SQLITE = Dialect("sqlite")
POSTGRES = Dialect("postgres")
