"""Benchmarks: run one as ``python -m benchmarks.<name>`` (never part of the timed tests)."""
