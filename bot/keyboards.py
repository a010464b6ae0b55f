"""Every inline keyboard the bot shows, built in one place."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from core.users import Language

# Each language is offered in its own name, whatever the current language is.
_LANGUAGE_NAMES = {Language.ZH: "中文", Language.EN: "English"}


def language_choice(current: Language) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(("✓ " if lang is current else "") + _LANGUAGE_NAMES[lang],
                             callback_data=callbacks.choose_language(lang))
        for lang in Language
    ]])
