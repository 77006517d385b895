"""Each connector plugin module refuses to load without its extra, saying how to install it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

EXTRAS = {
    "s3": ("boto3", "fastavro", "pyarrow"),
    "jdbc": ("sqlalchemy", "psycopg", "pymysql"),
    "elasticsearch": ("elasticsearch", "opensearchpy"),
}


def _load_without(plugin: str, missing: str) -> subprocess.CompletedProcess[str]:
    """Imports ``connectors.<plugin>.plugin`` in a fresh interpreter where ``missing`` cannot be imported."""
    script = textwrap.dedent(f"""
        import sys
        sys.modules[{missing!r}] = None  # what an interpreter without the package sees: import fails
        try:
            import connectors.{plugin}.plugin
        except ImportError as exc:
            print(exc)
            sys.exit(3)
    """)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )


@pytest.mark.parametrize(("plugin", "missing"), [(p, m) for p, modules in EXTRAS.items() for m in modules])
def test_a_plugin_without_its_extra_names_the_package_and_the_pip_command(plugin: str, missing: str) -> None:
    result = _load_without(plugin, missing)
    assert result.returncode == 3, result.stdout + result.stderr
    assert missing in result.stdout
    assert f"pip install 'hub[{plugin}]'" in result.stdout


@pytest.mark.parametrize("plugin", sorted(EXTRAS))
def test_a_plugin_with_its_extra_loads(plugin: str) -> None:
    result = _load_without(plugin, "no_such_module_anyone_imports")
    assert result.returncode == 0, result.stdout + result.stderr
