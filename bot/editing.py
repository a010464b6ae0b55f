"""Editing the message a button was pressed on, so stale buttons show the new state."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram._utils.types import ReplyMarkup
from telegram.error import BadRequest

# Telegram's words for a message that can no longer be edited: deleted, too old, not ours.
_GONE = ("message to edit not found", "message can't be edited", "message_id_invalid")


async def edit(query: CallbackQuery, text: str,
               reply_markup: InlineKeyboardMarkup | None = None) -> None:
    """Show ``text`` on the pressed message. Pressing a button that leads to what is already
    shown (a page turned to itself, a repeated tap) is not an error; a message that can no
    longer be edited gets the new state as a new message instead."""
    if query.inline_message_id is None and (
            query.message is None or not query.message.is_accessible):
        # Pressed on a message Telegram no longer gives us (too old, or none at all).
        await query.get_bot().send_message(query.from_user.id, text, reply_markup=reply_markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=reply_markup)
    except BadRequest as error:
        reason = str(error).lower()
        if "message is not modified" in reason:
            return
        if not any(gone in reason for gone in _GONE) or query.from_user is None:
            raise
        await query.get_bot().send_message(query.from_user.id, text, reply_markup=reply_markup)


async def reply(update: Update, text: str, reply_markup: ReplyMarkup | None = None) -> None:
    """Answer in the chat the update came from, whether it carries a message or is a press
    on a message Telegram no longer gives us."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=reply_markup)
        return
    chat = update.effective_chat.id if update.effective_chat else update.effective_user.id
    await update.get_bot().send_message(chat, text, reply_markup=reply_markup)
