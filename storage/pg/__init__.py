"""PostgreSQL, the second storage engine, through asyncpg (see docs/postgres.md)."""
