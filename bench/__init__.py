"""Benchmarks: each script prints its figures and ratios against a reference measured in the same run."""
