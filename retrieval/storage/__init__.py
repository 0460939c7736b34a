"""Storage: the SQLite file and the index, terms and vectors kept in it."""
