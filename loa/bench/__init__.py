"""Benchmarks that print their figures as JSON (see docs/benchmarks.md)."""
