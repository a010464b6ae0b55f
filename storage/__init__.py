"""SQLite (aiosqlite) adapters for the protocols in ``core.ports``."""
