"""Each import-linter contract of pyproject.toml breaks when its rule is broken.

A copy of hub/ and connectors/ gets one probe module with one forbidden import; import-linter, run on the copy with
the project's contracts, must report exactly the contract that forbids it as broken and keep all the others. Every
contract needs a probe here, so a new contract comes with its proof that it can fail.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
_CONTRACT_LINE = re.compile(r"^(?P<name>.+?) (?P<state>KEPT|BROKEN)\b", flags=re.MULTILINE)

# contract name -> probes breaking it: (module path in the tree, its one import)
PROBES: dict[str, list[tuple[str, str]]] = {
    "hub.log imports nothing else of hub": [("hub/log/contract_probe.py", "import hub.runtime")],
    "hub.sdk imports nothing else of hub": [("hub/sdk/contract_probe.py", "import hub.log")],
    "connectors import only hub.sdk": [("connectors/file/contract_probe.py", "import hub.runtime")],
    "hub.rest reaches neither the store, the CLI nor connectors": [
        ("hub/rest/contract_probe.py", "from hub.log.client import StoreClients")
    ],
    "hub.rest imports of hub.sdk only hub.sdk.errors": [("hub/rest/contract_probe.py", "import hub.sdk.records")],
    "hub.runtime imports none of hub.rest, hub.cli, hub.registry, connectors": [
        ("hub/runtime/contract_probe.py", "import connectors"),
        ("hub/runtime/stores/contract_probe.py", "from hub.registry import records"),
    ],
    "hub.registry does not import the REST layer, the CLI or connectors": [
        ("hub/registry/contract_probe.py", "import hub.rest.errors"),
        ("hub/registry/formats/contract_probe.py", "import connectors"),
    ],
    "hub.registry uses of hub.log only the package hub.log.client": [
        ("hub/registry/contract_probe.py", "from hub.log.client.api import OutgoingRecord"),
        ("hub/registry/contract_probe.py", "import hub.log.store"),
    ],
    "hub.runtime uses of hub.log only the package hub.log.client": [
        ("hub/runtime/contract_probe.py", "from hub.log.client.api import OutgoingRecord"),
        ("hub/runtime/stores/contract_probe.py", "import hub.log.store"),
    ],
    "connector packages are independent of each other": [
        ("connectors/jdbc/contract_probe.py", "import connectors.s3"),
        ("connectors/salesforce/contract_probe.py", "from connectors.file import plugin"),
        ("connectors/elasticsearch/contract_probe.py", "import connectors.jdbc.plugin"),
    ],
    "the JDBC connectors are independent of each other": [
        ("connectors/jdbc/cdc/contract_probe.py", "import connectors.jdbc.sink"),
        ("connectors/jdbc/source/contract_probe.py", "from connectors.jdbc.cdc import config"),
    ],
}
CASES = [(contract, path, line) for contract, probes in PROBES.items() for path, line in probes]


def _contract_names() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return {contract["name"] for contract in config["tool"]["importlinter"]["contracts"]}


def _lint(tree: Path) -> dict[str, str]:
    """Each contract's state (KEPT or BROKEN) when import-linter checks ``tree`` with the project's contracts."""
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    states = {match["name"]: match["state"] for match in _CONTRACT_LINE.finditer(result.stdout)}
    assert states, result.stdout + result.stderr
    return states


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages the contracts cover, where probes are written."""
    copy = tmp_path_factory.mktemp("contracts")
    for package in ("hub", "connectors"):
        shutil.copytree(ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_every_contract_has_a_probe() -> None:
    assert set(PROBES) == _contract_names()


def test_the_copied_tree_keeps_every_contract(tree: Path) -> None:
    assert _lint(tree) == dict.fromkeys(_contract_names(), "KEPT")


@pytest.mark.parametrize(("contract", "path", "line"), CASES, ids=[f"{path}: {line}" for _, path, line in CASES])
def test_a_forbidden_import_breaks_its_contract_and_no_other(tree: Path, contract: str, path: str, line: str) -> None:
    probe = tree / path
    probe.write_text(f'"""Breaks one contract on purpose."""\n\n{line}\n')
    try:
        states = _lint(tree)
    finally:
        probe.unlink()
    assert states == {name: "BROKEN" if name == contract else "KEPT" for name in _contract_names()}
