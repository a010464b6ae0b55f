"""Reading a test's SQLite file directly, as an auditor would: what is really stored."""

import sqlite3


def q(path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
