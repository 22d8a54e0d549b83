"""Benchmarks: the real bot against the project's fakes on 127.0.0.1 (see bench/README.md)."""
