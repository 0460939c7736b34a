"""Handlers by theme; each module's handlers() lists what it registers, in the order it matters."""
