"""The suite's names for the server descriptions, which ship with Hub in hub.demo.servers (``hub demo`` uses them
too)."""

from hub.demo.servers import (
    ORIGIN_CONTAINER,
    ORIGIN_ENV,
    ORIGIN_LOCAL,
    HttpServer,
    KafkaServer,
    S3Server,
    SqlServer,
)

__all__ = [
    "ORIGIN_CONTAINER",
    "ORIGIN_ENV",
    "ORIGIN_LOCAL",
    "HttpServer",
    "KafkaServer",
    "S3Server",
    "SqlServer",
]
