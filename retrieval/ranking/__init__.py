"""Ranking: a question's candidates and features, the learned ranker and gate, marks."""
