"""The marker plugins use to register with Hub through pluggy (hooks are listed in hub.runtime.hookspecs)."""

from __future__ import annotations

import pluggy

PROJECT_NAME = "hub"

#: Decorate a plugin module's ``hub_register_*`` functions with this.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)
