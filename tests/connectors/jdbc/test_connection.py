"""JDBC URLs and connection options → SQLAlchemy URLs."""

from __future__ import annotations

import pytest

from connectors.jdbc.connection import sqlalchemy_url
from hub.sdk import Password
from hub.sdk.errors import ConnectorError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("jdbc:postgresql://db:5432/shop", "postgresql+psycopg://db:5432/shop"),
        ("jdbc:postgresql://db/shop?user=app&password=s3cret", "postgresql+psycopg://app:s3cret@db/shop"),
        ("jdbc:postgresql://db/shop?ssl=true", "postgresql+psycopg://db/shop?sslmode=require"),
        ("jdbc:mysql://db:3306/shop", "mysql+pymysql://db:3306/shop"),
        ("jdbc:mariadb://db:3306/shop", "mysql+pymysql://db:3306/shop"),
        ("jdbc:sqlite:/var/data/shop.db", "sqlite:////var/data/shop.db"),
        ("jdbc:sqlite::memory:", "sqlite://"),
        ("postgresql+psycopg://app@db/shop", "postgresql+psycopg://app@db/shop"),
    ],
)
def test_jdbc_and_sqlalchemy_urls(url: str, expected: str) -> None:
    assert sqlalchemy_url(url).render_as_string(hide_password=False) == expected


def test_user_and_password_options_override_the_url() -> None:
    url = sqlalchemy_url("jdbc:postgresql://db/shop?user=old", "app", Password("p@ss:word"))
    assert (url.username, url.password) == ("app", "p@ss:word")


@pytest.mark.parametrize(
    "url",
    ["jdbc:sqlite:/var/data/shop.db", "jdbc:sqlite:/var/data/shop.db?user=a&password=b", "sqlite:////var/data/shop.db"],
)
def test_sqlite_urls_ignore_user_and_password(url: str) -> None:
    resolved = sqlalchemy_url(url, "app", Password("s3cret"))
    assert resolved.render_as_string(hide_password=False) == "sqlite:////var/data/shop.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("jdbc:oracle:thin:@db:1521:orcl", "unsupported JDBC sub-protocol 'oracle'"),
        ("jdbc:postgresql:shop", "names no host"),
        ("not a url", "neither a JDBC URL nor a SQLAlchemy URL"),
    ],
)
def test_bad_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(ConnectorError, match=message):
        sqlalchemy_url(url)
