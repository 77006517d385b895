"""What build of Hub this is: the version and the source commit, as Kafka Connect's ``GET /`` reports them.

The commit comes from where the installation came from: pip's record of a VCS install (``direct_url.json``), or
``git`` in a source checkout (editable installs); otherwise it is ``unknown``, Kafka's own value when it cannot
tell. Looked up once, then cached; thread-safe.
"""

from __future__ import annotations

import functools
import json
import subprocess
from importlib import metadata
from pathlib import Path

from hub import __version__

UNKNOWN = "unknown"


@functools.cache
def commit() -> str:
    """The full commit id Hub was built from, or ``unknown``."""
    return _installed_from_vcs() or _source_checkout() or UNKNOWN


def _installed_from_vcs() -> str | None:
    try:
        recorded = metadata.distribution("hub").read_text("direct_url.json")
        return str(json.loads(recorded or "{}").get("vcs_info", {}).get("commit_id") or "") or None
    except (metadata.PackageNotFoundError, ValueError, AttributeError):
        return None


def _source_checkout() -> str | None:
    source = Path(__file__).resolve().parent.parent
    if not (source / ".git").exists():
        return None
    try:
        answer = subprocess.run(
            ["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = answer.stdout.strip()
    return sha if answer.returncode == 0 and len(sha) == 40 else None


__all__ = ["UNKNOWN", "__version__", "commit"]
