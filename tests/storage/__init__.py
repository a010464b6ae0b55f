"""Tests on real SQLite files: repositories, units of work, migrations, services."""
