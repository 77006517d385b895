"""Hub's test suite."""
