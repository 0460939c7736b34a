"""Retrieval: raw speech files to ranked, cited passages. Knows nothing of Telegram."""
