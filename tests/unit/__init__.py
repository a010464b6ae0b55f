"""Tests of core/ (and pure bot pieces) without a database or Telegram."""
