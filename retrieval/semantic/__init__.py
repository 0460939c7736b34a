"""Meaning: text to vectors (the embedder) and a corpus's passage and sentence vectors."""
