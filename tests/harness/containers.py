"""Genuine server images through testcontainers, used when HUB_TEST_CONTAINERS=1 and Docker answers.

This is how a contributor with Docker runs the suite against real Elasticsearch 8, Apache Kafka, MinIO,
PostgreSQL and MariaDB instead of the local stand-ins.
"""

from __future__ import annotations

import os
import time
from typing import Any

from tests.harness.servers import ORIGIN_CONTAINER, HttpServer, KafkaServer, S3Server, SqlServer

POSTGRES_IMAGE = "postgres:15"
OPENSEARCH_IMAGE = "opensearchproject/opensearch:2.19.1"
MARIADB_IMAGE = "mariadb:10.11"
ELASTICSEARCH_IMAGE = "docker.elastic.co/elasticsearch/elasticsearch:9.0.0"  # the major of the installed client
MINIO_IMAGE = "minio/minio:RELEASE.2024-10-13T13-34-11Z"
KAFKA_IMAGE = "apache/kafka:3.8.0"


def containers_wanted() -> bool:
    """True when HUB_TEST_CONTAINERS=1 and a Docker engine answers."""
    if os.environ.get("HUB_TEST_CONTAINERS") != "1":
        return False
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


class ContainerServer:
    """Owns one started container; ``stop()`` removes it."""

    def __init__(self) -> None:
        self.container: Any = None

    def stop(self) -> None:
        if self.container is not None:
            self.container.stop()
            self.container = None

    def postgres(self) -> SqlServer:
        from testcontainers.postgres import PostgresContainer

        began = time.monotonic()
        container = PostgresContainer(POSTGRES_IMAGE, username="postgres", password="postgres", dbname="postgres")
        container.with_command("postgres -c wal_level=logical -c max_replication_slots=40 -c max_wal_senders=10")
        self.container = container.start()
        return SqlServer(
            dialect="postgresql",
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(5432)),
            user="postgres",
            password="postgres",
            database="postgres",
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )

    def mariadb(self) -> SqlServer:
        from testcontainers.mysql import MySqlContainer

        began = time.monotonic()
        container = MySqlContainer(MARIADB_IMAGE, username="hub", password="hub", dbname="hub")
        self.container = container.start()
        return SqlServer(
            dialect="mysql",
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(3306)),
            user="hub",
            password="hub",
            database="hub",
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )

    def minio(self) -> S3Server:
        from testcontainers.minio import MinioContainer

        began = time.monotonic()
        container = MinioContainer(MINIO_IMAGE)
        self.container = container.start()
        config = container.get_config()
        return S3Server(
            url=f"http://{config['endpoint']}",
            access_key=config["access_key"],
            secret_key=config["secret_key"],
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )

    def elasticsearch(self) -> HttpServer:
        from testcontainers.elasticsearch import ElasticSearchContainer

        began = time.monotonic()
        container = ElasticSearchContainer(ELASTICSEARCH_IMAGE, mem_limit="2g")
        self.container = container.start()
        return HttpServer(
            name="elasticsearch",
            url=container.get_url(),
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )

    def opensearch(self) -> HttpServer:
        from testcontainers.community.opensearch import OpenSearchContainer

        began = time.monotonic()
        container = OpenSearchContainer(OPENSEARCH_IMAGE, security_enabled=False)
        self.container = container.start()
        config = container.get_config()
        return HttpServer(
            name="opensearch",
            url=f"http://{config['host']}:{config['port']}",
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )

    def kafka(self) -> KafkaServer:
        from testcontainers.kafka import KafkaContainer

        began = time.monotonic()
        container = KafkaContainer(KAFKA_IMAGE).with_kraft()
        self.container = container.start()
        return KafkaServer(
            name="apache-kafka",
            bootstrap=container.get_bootstrap_server(),
            origin=ORIGIN_CONTAINER,
            startup_s=time.monotonic() - began,
        )
