"""hub.log.client exports exactly its public interface."""

from __future__ import annotations

import inspect

import hub.log.client as client
from hub.log.client import api, errors, types


def test_all_names_exist() -> None:
    for name in client.__all__:
        assert hasattr(client, name), name


def test_every_public_class_is_exported() -> None:
    defined = {
        name
        for module in (api, errors, types)
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }
    assert defined == set(client.__all__)
