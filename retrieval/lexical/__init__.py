"""Lexical retrieval: folding and words, BM25 fields, copies, the index built from analysed files."""
