"""Editing the message a button was pressed on, so stale buttons show the new state."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup
from telegram.error import BadRequest


async def edit(query: CallbackQuery, text: str,
               reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Show ``text`` on the pressed message. Pressing a button that leads to what is already
    shown (a page turned to itself, a repeated tap) is not an error."""
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as error:
        if "message is not modified" not in str(error).lower():
            raise
