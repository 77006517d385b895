"""Hub's schema registry: Confluent Schema Registry's model — subjects, versions, globally unique ids, references,
compatibility levels and modes — kept in the store's compacted ``_schemas`` topic, and served at Confluent's REST
paths by ``hub.rest.routes.schema_registry``.

``service`` (the operations), ``state`` (the replayed topic), ``records`` (Confluent's key and value formats),
``formats`` (AVRO, PROTOBUF and JSON parsed by their libraries), ``compatibility`` (the seven levels),
``resolver`` (references), ``requests`` (what clients send), ``errors`` (Confluent's error codes) and
``storage`` (the topic, the one module that reaches the store).
"""
