"""Property-based fuzzing of the REST API from its own OpenAPI document: schemathesis with every check it has
(no 5xx; status codes, content types, headers and bodies as documented; schema-violating requests refused and
schema-valid ones accepted; 405 with ``Allow`` for undocumented methods; nothing reachable after DELETE; created
resources available; ...), over all its phases (examples, coverage, fuzzing, stateful), while a live source and a
live sink connector run so the state-changing operations act on real connectors (tests/rest/fuzz_hooks.py keeps
them present). The phases run as three tests (examples with coverage), each on a fresh API (they share nothing but
the document), so they run side by side on parallel test workers. ``HUB_FUZZ_EXAMPLES`` raises the number of cases
per operation for a longer run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.rest.conftest import local_api

EXAMPLES_PER_OPERATION = int(os.environ.get("HUB_FUZZ_EXAMPLES", "10"))
SEED = os.environ.get("HUB_FUZZ_SEED", "18")
POSITIVE_EXPECTED = ["2xx", "3xx", "401", "403", "404", "409", "429"]
# Operations whose schema-valid requests may still be refused with 400, for reasons a schema cannot state: a
# connector config must also be valid for its plugin, offsets are changed only on a stopped connector and must
# fit its kind (source or sink), a standalone worker takes no task configs from other workers, and a dead-letter
# record is re-sent only when its headers name the topic it came from.
REFUSED_BY_PLUGIN_OR_STATE = [
    ("POST", "/connectors"),
    ("PUT", "/connectors/{name}/config"),
    ("PUT", "/ui/api/connectors/{name}/config"),
    ("POST", "/ui/api/dlq/{topic}/resend"),
    ("PATCH", "/connectors/{name}/config"),
    ("PATCH", "/connectors/{name}/offsets"),
    ("DELETE", "/connectors/{name}/offsets"),
    ("PUT", "/connectors/{name}/tasks"),
]


# The schema registry's operations: a schema-valid request may name a schema that does not parse or breaks its
# subject's level, or meet a read-only or import mode (422, Confluent's 422xx codes).
REGISTRY_OPERATIONS = [
    ("POST", "/subjects/{subject}"),
    ("DELETE", "/subjects/{subject}"),
    ("POST", "/subjects/{subject}/versions"),
    ("DELETE", "/subjects/{subject}/versions/{version}"),
    ("PUT", "/config"),
    ("PUT", "/config/{subject}"),
    ("POST", "/compatibility/subjects/{subject}/versions"),
    ("POST", "/compatibility/subjects/{subject}/versions/{version}"),
    ("PUT", "/mode"),
    ("PUT", "/mode/{subject}"),
]
# Operations whose resource is still there after a DELETE: the global level is reset to its default, not removed.
RESET_BY_DELETE = [("DELETE", "/config")]
# Every phase schemathesis has. The document has no examples, and a run whose only phase has nothing to do fails:
# the examples phase runs with the coverage phase.
PHASES = ["examples,coverage", "fuzzing", "stateful"]


def _live(work_dir: Path) -> dict[str, dict[str, str]]:
    return {
        "live-source": {"connector.class": "Datagen", "topic": "fuzz", "rate": "20"},
        "live-sink": {"connector.class": "FileStreamSink", "topics": "fuzz", "file": str(work_dir / "sink.txt")},
    }


def _config(plugins: list[str], loggers: list[str], live: list[str], subjects: list[str]) -> str:
    def strings(values: list[str]) -> str:
        return json.dumps(values)

    lines = [
        "[checks.positive_data_acceptance]",
        f"expected-statuses = {strings(POSITIVE_EXPECTED)}",
        f"[dictionaries.connectors]\nvalues = {strings(live)}",
        "[dictionaries.tasks]\nvalues = [0]",
        f"[dictionaries.plugins]\nvalues = {strings(plugins)}",
        f"[dictionaries.loggers]\nvalues = {strings(loggers)}",
        f"[dictionaries.subjects]\nvalues = {strings(subjects)}",
        "[parameters]",
        '"path.name" = { dictionary = "connectors", probability = 0.5 }',
        '"path.task" = { dictionary = "tasks", probability = 0.5 }',
        '"path.plugin" = { dictionary = "plugins", probability = 0.5 }',
        '"path.logger" = { dictionary = "loggers", probability = 0.5 }',
        '"path.subject" = { dictionary = "subjects", probability = 0.5 }',
    ]
    # One filter per entry, ``include-name`` ("METHOD /path"): schemathesis ORs the include filters of an entry
    # (``include-method`` and ``include-path`` together would match every operation with that method and every
    # one on that path). Where several entries match, the first one that sets an option decides it.
    for method, path in REGISTRY_OPERATIONS:
        lines += [
            "[[operations]]",
            f'include-name = "{method} {path}"',
            f"checks.positive_data_acceptance.expected-statuses = {strings([*POSITIVE_EXPECTED, '422'])}",
        ]
    for method, path in RESET_BY_DELETE:
        lines += ["[[operations]]", f'include-name = "{method} {path}"', "checks.use_after_free.enabled = false"]
    for method, path in REFUSED_BY_PLUGIN_OR_STATE:
        lines += [
            "[[operations]]",
            f'include-name = "{method} {path}"',
            f"checks.positive_data_acceptance.expected-statuses = {strings([*POSITIVE_EXPECTED, '400'])}",
        ]

    return "\n".join(lines) + "\n"


def test_each_exception_applies_to_its_own_operation_only() -> None:
    settings = tomllib.loads(_config(["Datagen"], ["root"], ["live-source"], ["fuzz-value"]))
    filters = [
        {key: value for key, value in entry.items() if key.startswith("include-")} for entry in settings["operations"]
    ]
    excepted = [*REGISTRY_OPERATIONS, *RESET_BY_DELETE, *REFUSED_BY_PLUGIN_OR_STATE]
    assert filters == [{"include-name": f"{method} {path}"} for method, path in excepted]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(int(os.environ.get("HUB_FUZZ_TIMEOUT_S", "300")))
@pytest.mark.parametrize("phase", PHASES)
def test_api_conforms_to_its_document(tmp_path: Path, phase: str) -> None:
    # No initial rebalance delay: the live sink's consumer joins its group at once each time it is resumed.
    with local_api(tmp_path / "store", broker={"group.initial.rebalance.delay.ms": "0"}, registry=True) as api:
        live = _live(tmp_path)
        client = api.client
        for name, config in live.items():
            assert client.post("/connectors", json={"name": name, "config": config}).status_code == 201
        plugins = [p["class"] for p in client.get("/connector-plugins?connectorsOnly=false").json()]
        loggers = sorted(client.get("/admin/loggers").json())
        url = f"http://{api.host}:{api.port}"
        settings = tmp_path / "schemathesis.toml"
        subjects = ["fuzz-value"]
        schema = {"type": "record", "name": "Fuzz", "fields": [{"name": "a", "type": "string"}]}
        assert client.post("/subjects/fuzz-value/versions", json={"schema": json.dumps(schema)}).status_code == 200
        settings.write_text(_config([*plugins, "Datagen", "FileStreamSink"], loggers, sorted(live), subjects))
        argv = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(settings),
            "run",
            f"{url}/openapi.json",
            "--phases",
            phase,
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            SEED,
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
            "--request-timeout",
            "30",
        ]
        root = str(Path(__file__).resolve().parents[2])  # where the hooks module is found
        path = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
        env = {
            **os.environ,
            "PYTHONPATH": path,
            "SCHEMATHESIS_HOOKS": "tests.rest.fuzz_hooks",
            "HUB_FUZZ_URL": url,
            "HUB_FUZZ_LIVE": json.dumps(live),
        }
        run = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp_path)
        print(run.stdout[-6000:])  # the run's summary: phases, operations, warnings (shown with -rP or -s)
        assert run.returncode == 0, run.stdout[-12000:] + run.stderr[-3000:]
        assert set(live) <= set(client.get("/connectors").json())  # the live connectors were there to the end
