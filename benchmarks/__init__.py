"""Benchmarks: run with `make bench` / `make bench-api`; results land in docs/."""
