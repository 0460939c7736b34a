"""The Telegram side: settings, handlers, rendering, the local harness and the command line."""
