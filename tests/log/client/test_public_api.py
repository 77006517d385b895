"""hub.log.client exports exactly its public interface: classes and the type aliases that appear in it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import ModuleType

import hub.log.client as client
from hub.log.client import api, errors, types

_INTERFACE_MODULES = (api, errors, types)


def _public_aliases(module: ModuleType) -> set[str]:
    """Names a module binds at its top level by assignment (``Header = tuple[...]``), private ones left out."""
    tree = ast.parse(Path(inspect.getfile(module)).read_text())
    targets = [target for node in tree.body if isinstance(node, ast.Assign) for target in node.targets]
    targets += [node.target for node in tree.body if isinstance(node, ast.AnnAssign)]
    return {target.id for target in targets if isinstance(target, ast.Name) and not target.id.startswith("_")}


def test_all_names_exist() -> None:
    for name in client.__all__:
        assert hasattr(client, name), name


def test_every_public_class_and_type_alias_is_exported() -> None:
    classes = {
        name
        for module in _INTERFACE_MODULES
        for name, value in vars(module).items()
        if inspect.isclass(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }
    aliases = set().union(*(_public_aliases(module) for module in _INTERFACE_MODULES))
    assert aliases >= {"OutgoingRecord", "Header"}
    assert classes | aliases == set(client.__all__)
