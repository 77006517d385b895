"""The embedded backend of the store client interface: in-process calls into Hub's own store, no sockets."""

from __future__ import annotations

from hub.log.client.embedded.admin import EmbeddedAdmin
from hub.log.client.embedded.clients import EmbeddedClients
from hub.log.client.embedded.consumer import EmbeddedConsumer
from hub.log.client.embedded.group_member import EmbeddedGroupMember
from hub.log.client.embedded.producer import EmbeddedProducer
from hub.log.client.embedded.transactions import EmbeddedTransactionalProducer

__all__ = [
    "EmbeddedAdmin",
    "EmbeddedClients",
    "EmbeddedConsumer",
    "EmbeddedGroupMember",
    "EmbeddedProducer",
    "EmbeddedTransactionalProducer",
]
