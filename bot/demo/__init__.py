"""Daihuan without Telegram: an offline Bot-API-compatible server with scripted people, the
real bot running against it in-process, and ``daihuan demo`` telling the story."""
