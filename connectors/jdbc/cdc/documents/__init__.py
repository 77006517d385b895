"""Nested search documents from related PostgreSQL tables (PGSync's schema.json), kept in step by change capture."""
