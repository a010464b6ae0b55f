"""One small module per step of the conversation."""
