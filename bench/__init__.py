"""Benchmarks: `make bench`. Each module's `run(ctx)` returns comparisons measured in one run."""
