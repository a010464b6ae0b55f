"""Daihuan's Telegram front end: handlers, keyboards, texts and the composition root."""
