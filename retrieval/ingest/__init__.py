"""Ingestion: raw files to speeches and passages (read, clean, split, title, chunk); the corpus folder."""
