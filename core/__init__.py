"""Daihuan's pure domain: money, ledger, users and the services over them.

Nothing here imports Telegram or a database driver; storage adapters implement the
protocols in ``core.ports`` and the bot calls the services with them.
"""
