"""The suite's names for the server-process helpers, which ship with Hub in hub.demo.process (``hub demo`` uses
them too)."""

from hub.demo.process import (
    LocalServer,
    ManagedProcess,
    ServerUnavailableError,
    free_port,
    port_open,
    require_binary,
    run_checked,
    venv_binary,
)

__all__ = [
    "LocalServer",
    "ManagedProcess",
    "ServerUnavailableError",
    "free_port",
    "port_open",
    "require_binary",
    "run_checked",
    "venv_binary",
]
