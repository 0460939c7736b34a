"""Benchmark scripts (not tests): python bench/retrieval.py, python bench/load.py."""
