"""The real Application (or the real process) over HTTP against the offline Bot API."""
