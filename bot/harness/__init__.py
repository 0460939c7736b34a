"""A local stand-in for Telegram: the Bot API server and HTML rendering used by tests and the terminal chat."""
