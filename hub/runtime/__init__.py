"""The worker runtime: herder, worker, task runners, stores, plugins, converters and transforms."""
