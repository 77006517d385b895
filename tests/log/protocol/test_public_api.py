"""hub.log.protocol exports its public interface: the errors, the codec and lookup functions, the framing."""

from __future__ import annotations

import inspect

import hub.log.protocol as protocol
from hub.log.protocol import errors, frames, registry


def test_all_names_exist() -> None:
    for name in protocol.__all__:
        assert hasattr(protocol, name), name


def test_public_functions_and_classes_of_errors_frames_and_registry_are_exported() -> None:
    defined = {
        name
        for module in (errors, frames, registry)
        for name, value in vars(module).items()
        if (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
        and not name.startswith("_")
    }
    assert defined <= set(protocol.__all__)
    assert "MessageCodec" in protocol.__all__
