"""Distributed mode: workers that share connectors and tasks through a group in the store."""
