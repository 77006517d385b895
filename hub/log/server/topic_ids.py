"""Topic ids on the wire (KIP-516): the store keeps a topic's id as a hex string (``TopicInfo.topic_id``), the codec
carries ``uuid.UUID``; Kafka's zero uuid means "no id".

``TopicIds`` is one request's view of the store's topics by id: built when the request starts, so a topic created
or deleted meanwhile is seen as it was then. Plain data; used from one request.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from hub.log.store import TopicInfo

ZERO_UUID = uuid.UUID(int=0)


def topic_uuid(info: TopicInfo | None) -> uuid.UUID:
    """The topic's id as the codec carries it (the zero uuid for no topic)."""
    return ZERO_UUID if info is None else uuid.UUID(hex=info.topic_id)


class TopicIds:
    """Names by id and ids by name of the topics given (see the module docstring)."""

    def __init__(self, topics: Mapping[str, TopicInfo]) -> None:
        self._ids = {name: topic_uuid(info) for name, info in topics.items()}
        self._names = {topic_id: name for name, topic_id in self._ids.items()}

    def name(self, topic_id: uuid.UUID) -> str | None:
        """The name of the topic with this id; None for an unknown id or the zero uuid."""
        return self._names.get(topic_id)

    def id(self, name: str | None) -> uuid.UUID:
        """The id of the topic with this name; the zero uuid for an unknown name."""
        return ZERO_UUID if name is None else self._ids.get(name, ZERO_UUID)
