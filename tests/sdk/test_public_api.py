"""hub.sdk exports a curated public API, and every name in it exists."""

from __future__ import annotations

import hub.sdk as sdk


def test_all_names_exist_and_are_sorted() -> None:
    for name in sdk.__all__:
        assert hasattr(sdk, name), name
    assert sdk.__all__ == sorted(sdk.__all__, key=lambda name: (not name.isupper(), name))


def test_importing_the_sdk_pulls_in_no_heavy_dependency() -> None:
    import subprocess
    import sys

    code = "import sys, hub.sdk; print(sorted(m for m in ('sqlalchemy','elasticsearch','boto3') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
