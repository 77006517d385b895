"""`./scripts/run` as a user meets it, in a terminal (stdout and stderr together): with Hub installed, the only line
is `hub start`'s ready line, printed once the worker takes writes, naming the REST API, the Kafka listener, the
data directory and a command that works.

The script runs from a scratch copy of the tree whose .venv is marked as installed for this pyproject and whose
``hub`` runs this checkout, so nothing is installed and the repository's own .venv is not touched.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.harness.process import free_port

ROOT = Path(__file__).resolve().parents[1]


def _scratch_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "scripts", tree / "scripts")
    shutil.copy(ROOT / "pyproject.toml", tree)
    bin_dir = tree / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    scripts = {  # the console script as pip writes it, importing this checkout
        "hub": f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom hub.cli import main\n"
        "sys.exit(main())\n",
        "python": f'#!/usr/bin/env bash\nexec {sys.executable} "$@"\n',
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    digest = hashlib.sha256((tree / "pyproject.toml").read_bytes()).hexdigest()
    (tree / ".venv" / ".hub-installed").write_text(f"all {digest}\n")
    return tree


def _lines_until_ready(process: subprocess.Popen[str], timeout_s: float = 60) -> list[str]:
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Hub ready: "):
                ready.set()
                return

    threading.Thread(target=read, daemon=True).start()
    assert ready.wait(timeout_s), "no ready line:\n" + "\n".join(lines)
    return lines


@pytest.mark.integration
@pytest.mark.slow
def test_scripts_run_prints_only_a_ready_line_that_is_true(tmp_path: Path) -> None:
    tree = _scratch_tree(tmp_path)
    rest, kafka = free_port(), free_port()
    data_dir = tmp_path / "data"
    process = subprocess.Popen(
        [
            str(tree / "scripts" / "run"),
            "--data-dir",
            str(data_dir),
            "--rest-listener",
            f"127.0.0.1:{rest}",
            "--kafka-listener",
            f"127.0.0.1:{kafka}",
        ],
        cwd=tree,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        [line] = _lines_until_ready(process)
        url = f"http://127.0.0.1:{rest}"
        assert f"REST API {url}, Kafka listener 127.0.0.1:{kafka}, data in {data_dir};" in line

        # True when printed: a write is accepted at once (no 409 while the worker joins its group).
        body = {
            "name": "ready",
            "config": {"connector.class": "FileStreamSource", "topic": "t", "file": str(tmp_path / "in.txt")},
        }
        request = urllib.request.Request(
            url + "/connectors", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201

        try_command = shlex.split(line.split("; try: ", 1)[1])
        assert try_command[0] == ".venv/bin/hub", line
        assert try_command[1:] == ["plugins", "--url", url]
        tried = subprocess.run(try_command, cwd=tree, capture_output=True, text=True, timeout=60, check=False)
        assert tried.returncode == 0, tried.stderr
        assert "FileStreamSource" in tried.stdout
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
