"""Where a throwaway server is and how it was obtained: what ``hub demo`` starts and a test fixture yields."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

ORIGIN_LOCAL = "local"  # started here from installed packages
ORIGIN_ENV = "env"  # an already running server named by a HUB_TEST_* variable
ORIGIN_CONTAINER = "container"  # a genuine image run through testcontainers


@dataclass(frozen=True)
class SqlServer:
    """A PostgreSQL or MySQL/MariaDB server with one database the tests may use freely."""

    dialect: str  # "postgresql" or "mysql"
    host: str
    port: int
    user: str
    password: str
    database: str
    origin: str
    startup_s: float = 0.0

    @property
    def sqlalchemy_url(self) -> str:
        driver = "postgresql+psycopg" if self.dialect == "postgresql" else "mysql+pymysql"
        auth = quote(self.user, safe="") + (f":{quote(self.password, safe='')}" if self.password else "")
        return f"{driver}://{auth}@{self.host}:{self.port}/{self.database}"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:{self.dialect}://{self.host}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """A libpq connection string (PostgreSQL only)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}" + (
            f" password={self.password}" if self.password else ""
        )

    @classmethod
    def from_url(cls, dialect: str, url: str) -> SqlServer:
        parts = urlsplit(url)
        if not parts.hostname or not parts.port or not parts.path.strip("/"):
            raise ValueError(f"expected {dialect}://USER[:PASSWORD]@HOST:PORT/DATABASE, got {url!r}")
        return cls(
            dialect=dialect,
            host=parts.hostname,
            port=parts.port,
            user=parts.username or "",
            password=parts.password or "",
            database=parts.path.strip("/"),
            origin=ORIGIN_ENV,
        )


@dataclass(frozen=True)
class HttpServer:
    """An HTTP service (an Elasticsearch-API server) at ``url``."""

    name: str
    url: str
    origin: str
    startup_s: float = 0.0


@dataclass(frozen=True)
class S3Server:
    """An S3-compatible endpoint with credentials that may create buckets."""

    url: str
    access_key: str
    secret_key: str
    origin: str
    region: str = "us-east-1"
    startup_s: float = 0.0

    @classmethod
    def from_url(cls, url: str) -> S3Server:
        """``http://[KEY:SECRET@]HOST:PORT``; moto accepts any key, so the default is ``test``/``test``."""
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise ValueError(f"expected http://[KEY:SECRET@]HOST:PORT, got {url!r}")
        return cls(
            url=f"{parts.scheme}://{parts.hostname}:{parts.port}",
            access_key=parts.username or "test",
            secret_key=parts.password or "test",
            origin=ORIGIN_ENV,
        )


@dataclass(frozen=True)
class KafkaServer:
    """A Kafka-protocol broker reachable at ``bootstrap`` (HOST:PORT)."""

    name: str
    bootstrap: str
    origin: str
    startup_s: float = 0.0
