"""Quickstart connectors: FileStreamSource / FileStreamSink (Kafka's file connectors) and Datagen."""
