"""What a reader sees: results to Telegram HTML and buttons, in the reader's script."""
