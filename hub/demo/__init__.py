"""Throwaway servers for trying Hub (``hub demo``) and for its test suite: PostgreSQL with logical decoding and an
Elasticsearch-API server, each on a free port of 127.0.0.1 with its data in a temporary directory."""
