"""One small module per feature; each exports ``handlers()``, the PTB handlers it owns, and
bot/application.py only puts the features in order."""

from telegram.ext import filters

PRIVATE = filters.ChatType.PRIVATE  # money and identity are talked about in private only
