"""ElasticsearchSink: topics kept in step with Elasticsearch or OpenSearch indices (Confluent's options).

``config`` (options and settings) → ``documents`` (record to JSON document, id and index) and ``mappings`` →
``bulk`` (bulk requests, per-id ordering, retries) over ``client`` (Elasticsearch or OpenSearch); ``sink`` holds the
connector and its task.
"""
