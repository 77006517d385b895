"""Smoke tests: every harness server really answers."""

from __future__ import annotations

import uuid

import pytest

from tests.harness.servers import HttpServer, KafkaServer, S3Server, SqlServer

pytestmark = pytest.mark.integration


def test_postgres_round_trip_and_logical_decoding(postgres_server: SqlServer) -> None:
    import psycopg

    with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 40 + 2").fetchone() == (42,)
        assert conn.execute("SHOW wal_level").fetchone() == ("logical",)
        slot = f"smoke_{uuid.uuid4().hex[:8]}"
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'wal2json')", (slot,))
        conn.execute("CREATE TABLE smoke_wal (id int PRIMARY KEY, name text)")
        try:
            conn.execute("INSERT INTO smoke_wal VALUES (1, 'a')")
            changes = conn.execute("SELECT data FROM pg_logical_slot_get_changes(%s, NULL, NULL)", (slot,)).fetchall()
            assert any("smoke_wal" in row[0] for row in changes), changes
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
            conn.execute("DROP TABLE smoke_wal")


def test_postgres_url_works_with_sqlalchemy(postgres_server: SqlServer) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_server.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sqlalchemy.text("SELECT version()")).scalar_one().startswith("PostgreSQL")
    finally:
        engine.dispose()


def test_mariadb_round_trip(mysql_server: SqlServer) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(mysql_server.sqlalchemy_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("CREATE TABLE IF NOT EXISTS smoke (id INT PRIMARY KEY, name VARCHAR(20))"))
            conn.execute(sqlalchemy.text("REPLACE INTO smoke VALUES (1, 'hub')"))
            assert conn.execute(sqlalchemy.text("SELECT name FROM smoke WHERE id = 1")).scalar_one() == "hub"
            conn.execute(sqlalchemy.text("DROP TABLE smoke"))
    finally:
        engine.dispose()


def test_s3_put_get(s3_server: S3Server) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        aws_access_key_id=s3_server.access_key,
        aws_secret_access_key=s3_server.secret_key,
        region_name=s3_server.region,
    )
    bucket = f"smoke-{uuid.uuid4().hex[:8]}"
    client.create_bucket(Bucket=bucket)
    client.put_object(Bucket=bucket, Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"hello"


def test_elasticsearch_index_and_search(elasticsearch_server: HttpServer) -> None:
    from elasticsearch import Elasticsearch

    client = Elasticsearch(elasticsearch_server.url)
    index = f"smoke-{uuid.uuid4().hex[:8]}"
    try:
        client.index(index=index, id="1", document={"title": "hello hub"}, refresh=True)
        hits = client.search(index=index, query={"match": {"title": "hub"}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["1"]
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
        client.close()


def test_kafka_broker_produce_consume(kafka_broker: KafkaServer) -> None:
    from confluent_kafka import Consumer, Producer

    topic = f"smoke-{uuid.uuid4().hex[:8]}"
    producer = Producer({"bootstrap.servers": kafka_broker.bootstrap, "allow.auto.create.topics": True})
    delivered: list[object] = []
    for i in range(3):
        producer.produce(topic, key=b"k", value=f"v{i}".encode(), on_delivery=lambda err, msg: delivered.append(err))
    assert producer.flush(30) == 0
    assert delivered == [None, None, None]
    consumer = Consumer(
        {
            "bootstrap.servers": kafka_broker.bootstrap,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    try:
        consumer.subscribe([topic])
        values: list[bytes] = []
        for _ in range(60):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                values.append(message.value())
            if len(values) == 3:
                break
        assert values == [b"v0", b"v1", b"v2"]
    finally:
        consumer.close()
