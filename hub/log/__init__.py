"""Hub's topic store: partitions as append-only logs of Kafka RecordBatch v2 batches."""
