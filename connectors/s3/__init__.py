"""S3 connectors: S3Sink archives topics to objects exactly once, S3Source restores them (Confluent's options)."""
