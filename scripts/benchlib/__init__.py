"""`make bench`: measures DESIGN.md's budgets on loopback and writes BENCHMARKS.md (see scripts/bench.py)."""
