"""How the suite's tests are shared out among pytest-xdist workers (``-n N --dist loadgroup``, scripts/test's
default): which tests must run in one worker, one after the other, and in what order the work is handed out.

- The tests of a module that uses a module- or class-scoped fixture (a server shared by the module's tests) form
  one unit: one worker runs them all, so the fixture starts once, as in a serial run. So do the tests marked with
  one ``pytest.mark.xdist_group`` name (e.g. tests that must not run beside each other).
- Every other test is a unit of its own, handed to whichever worker is free: the independent tests of one slow
  module run side by side.
- Units with a ``slow`` test are handed out first, so the run does not end waiting for one long test started
  last. Within each kind the collection order stays, and a unit's tests stay in their order.

The workers collect the tests, so they decide the units and the order; xdist's own loadgroup marks a unit by
appending its name to the test ids, which no longer takes with pytest 9 (ids are not plain strings any more), so
here each worker writes the units to a file the controller names (``HUB_TEST_UNITS_FILE``, set before the workers
start and inherited by them) before it reports its collection, and the controller's scheduler reads it. The test
ids stay as they are. Every worker must collect the same tests in the same order (xdist checks), so all of this is
deterministic. Session-scoped servers are started once per worker (tests.harness.fixtures). A serial run (``-n 0``,
or pytest without ``-n``) is left exactly as collected.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

#: Fixture scopes whose value is shared by several tests of one module.
SHARED_SCOPES = frozenset({"module", "class", "package"})
UNITS_ENV = "HUB_TEST_UNITS_FILE"


def by_units(config: pytest.Config) -> bool:
    """Whether the run is shared out among xdist workers with ``--dist loadgroup``."""
    return config.getoption("dist", default="no") == "loadgroup" or bool(config.getoption("loadgroup", default=False))


def shares_fixtures(item: pytest.Item) -> bool:
    """Whether the test uses a fixture shared with other tests of its module (module, class or package scope)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a plain test function (e.g. a doctest): keep it with its module
        return True
    return any(defs and defs[-1].scope in SHARED_SCOPES for defs in info.name2fixturedefs.values())


def module_of(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[0]


def units(items: list[pytest.Item]) -> dict[str, list[pytest.Item]]:
    """The units of work in collection order, each named by its group or module, or by its test's id when alone."""
    grouped_modules = {module_of(item) for item in items if shares_fixtures(item)}
    found: dict[str, list[pytest.Item]] = {}
    for item in items:
        explicit = item.get_closest_marker("xdist_group")
        if explicit is not None:
            name = "group " + str(explicit.args[0] if explicit.args else explicit.kwargs.get("name", "default"))
        elif module_of(item) in grouped_modules:
            name = module_of(item)
        else:
            name = item.nodeid
        found.setdefault(name, []).append(item)
    return found


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or not by_units(config) or not config.getoption("numprocesses", default=None):
        return
    directory = tempfile.mkdtemp(prefix="hub-test-units-")
    os.environ[UNITS_ENV] = str(Path(directory) / "units.json")
    config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    path = os.environ.get(UNITS_ENV)
    if not hasattr(config, "workerinput") or not by_units(config) or not path:
        return
    work = list(units(items).values())
    slow_first = sorted(work, key=lambda unit: not any(item.get_closest_marker("slow") for item in unit))
    items[:] = [item for unit in slow_first for item in unit]
    named = {item.nodeid: name for name, unit in units(items).items() for item in unit}
    partial = Path(f"{path}.{config.workerinput['workerid']}")
    partial.write_text(json.dumps(named))
    partial.replace(path)  # whole, as every worker writes the same


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    path = os.environ.get(UNITS_ENV)
    if not by_units(config) or not path:
        return None
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        """xdist's scope scheduling over the units the workers wrote, in the order they wrote them."""

        units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:
                self.units = json.loads(Path(path).read_text())
            return self.units.get(nodeid, nodeid)

        def schedule(self) -> None:
            self.config.option.loadscopereorder = False  # the workers' order: slow units first
            super().schedule()

    return UnitScheduling(config, log)
