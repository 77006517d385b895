"""`hub start` as a user meets it: its last word is one ready line on stdout (logs go to stderr), printed only once
the worker takes writes, naming the REST API, the Kafka listener, the data directory and a command that works."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests.harness.process import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration
@pytest.mark.slow
def test_hub_start_ends_with_a_ready_line_that_is_true(tmp_path: Path) -> None:
    rest, kafka = free_port(), free_port()
    data_dir = tmp_path / "data"
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "start", "--data-dir", str(data_dir),
         "--rest-listener", f"127.0.0.1:{rest}", "--kafka-listener", f"127.0.0.1:{kafka}"],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        first: list[str] = []
        read = threading.Thread(target=lambda: first.append(process.stdout.readline() if process.stdout else ""))
        read.start()
        read.join(60)
        assert first, "no ready line within 60 s"
        line = first[0].rstrip("\n")
        url = f"http://127.0.0.1:{rest}"
        assert line.startswith("Hub ready: "), line
        assert f"REST API {url}" in line
        assert f"Kafka listener 127.0.0.1:{kafka}" in line
        assert f"data in {data_dir}" in line

        # True when printed: a write is accepted at once (no 409 while the worker joins its group).
        body = {"name": "ready", "config": {"connector.class": "FileStreamSource", "topic": "t",
                                            "file": str(tmp_path / "in.txt")}}  # fmt: skip
        request = urllib.request.Request(
            url + "/connectors", json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201

        try_command = shlex.split(line.split("try: ", 1)[1])
        assert try_command[1:3] == ["plugins", "--url"], line
        tried = subprocess.run(
            [sys.executable, "-m", "hub.cli", *try_command[1:]],
            env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert tried.returncode == 0, tried.stderr
        assert "FileStreamSource" in tried.stdout

        process.send_signal(signal.SIGTERM)
        rest_of_stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert rest_of_stdout == "", "the ready line is the only line on stdout"
