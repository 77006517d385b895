"""Connector configs as the console shows and saves them: secret values hidden, and kept when still hidden."""

from __future__ import annotations

from typing import Any, cast

from hub.rest.ui.secrets import MASK, mask_config, secret_keys, unmask_config
from hub.runtime.herder import Herder, NotFoundError


class _Plugins:
    """Only what the secrets module asks a herder: a plugin's declared options."""

    def plugin_config(self, plugin: str) -> list[dict[str, Any]]:
        if plugin != "Db":
            raise NotFoundError(f"no plugin {plugin}")
        return [{"name": "connection.url", "type": "STRING"}, {"name": "conn.pw", "type": "PASSWORD"}]


HERDER = cast(Herder, _Plugins())


def test_declared_and_named_secrets_are_hidden() -> None:
    config = {"connector.class": "Db", "conn.pw": "p1", "aws.secret.access.key": "s", "connection.url": "u"}
    assert secret_keys(HERDER, config) == {"conn.pw", "aws.secret.access.key"}
    shown = mask_config(HERDER, config)
    assert shown["config"] == {**config, "conn.pw": MASK, "aws.secret.access.key": MASK}
    assert shown["secrets"] == ["aws.secret.access.key", "conn.pw"]


def test_an_unknown_plugin_still_hides_secret_names() -> None:
    assert mask_config(HERDER, {"connector.class": "Nope", "db.password": "x"})["config"]["db.password"] == MASK


def test_hidden_secrets_keep_their_stored_values_and_new_ones_win() -> None:
    stored = {"connector.class": "Db", "conn.pw": "p1", "db.token": "t1", "connection.url": "u"}
    edited = {"connector.class": "Db", "conn.pw": MASK, "db.token": "t2", "connection.url": MASK}
    # a non-secret key really set to the mask text is taken as written
    assert unmask_config(HERDER, edited, stored) == {**edited, "conn.pw": "p1", "db.token": "t2"}
