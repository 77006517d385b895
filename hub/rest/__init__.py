"""Kafka Connect's REST API over the Herder, with an OpenAPI document, optional TLS and authentication."""
