"""Start real servers on 127.0.0.1 for the test suite (PostgreSQL, MariaDB, S3, search, Kafka)."""
