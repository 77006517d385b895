"""The Kafka-protocol backend of the store client interface: any Kafka-compatible broker (Hub's listener, tansu,
Apache Kafka), through confluent-kafka and, for custom group protocols, Hub's own protocol codec."""

from __future__ import annotations

from hub.log.client.kafka.admin import KafkaAdmin
from hub.log.client.kafka.clients import KafkaClients
from hub.log.client.kafka.consumer import KafkaConsumer
from hub.log.client.kafka.group_member import KafkaGroupMember
from hub.log.client.kafka.producer import KafkaProducer
from hub.log.client.kafka.transactions import KafkaTransactionalProducer

__all__ = [
    "KafkaAdmin",
    "KafkaClients",
    "KafkaConsumer",
    "KafkaGroupMember",
    "KafkaProducer",
    "KafkaTransactionalProducer",
]
