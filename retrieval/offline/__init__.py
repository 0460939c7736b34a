"""Offline only (scikit-learn): fitting the ranker and gate, scoring with cross-validation."""
