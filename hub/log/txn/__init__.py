"""Kafka transactions in Hub's store: the transaction coordinator and its log (``__transaction_state``)."""
