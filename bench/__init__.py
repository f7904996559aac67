"""The benchmark: `make bench` (full) and `make bench-quick` (smoke test). Start with run.py."""
