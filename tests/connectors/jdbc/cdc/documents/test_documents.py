"""PostgresDocumentSource against a real PostgreSQL with PGSync's example schemas: the initial sync, then random
concurrent inserts, updates, re-parentings and deletes during and after it, with restarts of the runtime; once
changes stop, the latest document of every id in the topic equals the oracle's and no deleted root is left."""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from connectors.jdbc.cdc.documents.builder import DocumentBuilder
from connectors.jdbc.cdc.documents.catalog import resolve
from connectors.jdbc.cdc.documents.schema import load_document
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.jdbc.cdc.documents.examples import EXAMPLES, Mutator, expected_documents, populate
from tests.harness.servers import SqlServer

pytestmark = pytest.mark.integration

_ids = itertools.count()


@pytest.fixture(scope="module")
def databases(postgres_server: SqlServer) -> Iterator[dict[str, str]]:
    """One database per example (named as in the schema, plus a suffix), dropped at the end."""
    made: dict[str, str] = {}
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        for name in EXAMPLES:
            database = f"{name}_{os.getpid()}"
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {database}")
            made[name] = database
    yield made
    with psycopg.connect(postgres_server.dsn, autocommit=True) as connection:
        for database in made.values():
            connection.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def dsn(server: SqlServer, database: str) -> str:
    return f"host={server.host} port={server.port} user={server.user} dbname={database}" + (
        f" password={server.password}" if server.password else ""
    )


def source_config(server: SqlServer, database: str, document: dict[str, Any], topic: str) -> dict[str, str]:
    suffix = f"{os.getpid()}_{next(_ids)}"
    return {
        "connector.class": "PostgresDocumentSource",
        "database.hostname": server.host,
        "database.port": str(server.port),
        "database.user": server.user,
        "database.password": server.password,
        "database.dbname": database,
        "document.schema": json.dumps(document),
        "topic": topic,
        "slot.name": f"hub_docs_{suffix}",
        "publication.name": f"hub_docs_{suffix}",
        "poll.interval.ms": "100",
        "batch.size": "50",
    }


def latest(runtime: Runtime, topic: str) -> dict[str, Any]:
    """Each id's last value in the topic (None: deleted)."""
    out: dict[str, Any] = {}
    for record in runtime.read_topic(topic):
        key = json.loads(record.key or b"null")
        key = key["payload"] if isinstance(key, dict) and "payload" in key else key
        value = json.loads(record.value) if record.value is not None else None
        out[key] = value["payload"] if isinstance(value, dict) and "payload" in value else value
    return out


def converged(runtime: Runtime, topic: str, expected: dict[str, Any]) -> tuple[bool, str]:
    found = {k: v for k, v in latest(runtime, topic).items() if v is not None}
    if found == expected:
        return True, ""
    wrong = [k for k in expected if found.get(k) != expected[k]]
    orphans = sorted(set(found) - set(expected))
    sample = wrong[:1]
    detail = f"{sample[0]}: got {found.get(sample[0])} expected {expected[sample[0]]}" if sample else ""
    return False, f"{len(wrong)} wrong, orphans {orphans[:5]}; {detail}"


def churn(server: SqlServer, database: str, name: str, seed: int, changes: int, stop: threading.Event) -> None:
    mutator = Mutator(EXAMPLES[name], seed)
    with psycopg.connect(dsn(server, database)) as connection:
        for _ in range(changes):
            if stop.is_set():
                return
            try:
                with connection.transaction():
                    for _ in range(mutator.rng.randint(1, 4)):
                        mutator.change(connection)
            except psycopg.errors.Error:
                pass  # a racing delete or a deadlock between the writers: that transaction is not made


@pytest.mark.slow
@pytest.mark.parametrize("name", ["social", "through", "quiz", "airbnb", "book"])
def test_documents_equal_their_tree_after_concurrent_changes_and_restarts(
    name: str, databases: dict[str, str], postgres_server: SqlServer, runtime: Runtime
) -> None:
    database = databases[name]
    url = dsn(postgres_server, database)
    populate(url, EXAMPLES[name], rows=200)
    document = EXAMPLES[name].schema()[0]
    topic = f"docs-{name}-{next(_ids)}"
    config = source_config(postgres_server, database, document, topic)
    stop = threading.Event()
    writers = [
        threading.Thread(target=churn, args=(postgres_server, database, name, seed, 150, stop)) for seed in range(3)
    ]
    for writer in writers:
        writer.start()
    runtime.create("docs", config)
    runtime.wait_running("docs")
    runtime.restart()  # during the changes (and maybe the initial sync)
    runtime.wait_running("docs")
    for writer in writers:
        writer.join()
    runtime.restart()
    runtime.wait_running("docs")
    with psycopg.connect(url) as connection:
        tree = resolve(load_document(document), connection)
    expected = expected_documents(url, tree)
    assert expected
    if name == "book":  # JSON paths both present and missing, and the replace rule applied
        for field in ("doc_firstname", "doc_a,b,c_4", "doc_x_0_y", "doc_x_1_z"):
            assert {document[field] is None for document in expected.values()} == {True, False}, field
        assert any("XX" in document["book_isbn"] for document in expected.values())
    detail = ""

    def done() -> bool:
        nonlocal detail
        ok, detail = converged(runtime, topic, expected)
        return ok

    wait_for(done, 90, lambda: f"documents of {name} equal their trees: {detail}")
    runtime.herder.delete_connector("docs")


def _through_document(**child: Any) -> dict[str, Any]:
    node = {
        "table": "group",
        "columns": ["id", "group_name"],
        "relationship": {"variant": "object", "type": "one_to_many", "through_tables": ["customer_group"]},
    }
    node.update(child)
    return {
        "database": "through",
        "index": "through",
        "nodes": {"table": "customer", "columns": ["id", "name"], "children": [node]},
    }


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            {"index": "x", "nodes": {"table": "custommer"}},
            "node 'custommer' (public.custommer): table public.custommer does not exist",
        ),
        (_through_document(columns=["id", "name"]), "column 'name' does not exist in public.group"),
        (
            _through_document(relationship={"variant": "object", "type": "one_to_many", "through_tables": ["nope"]}),
            "through table public.nope does not exist",
        ),
        (
            _through_document(relationship={"variant": "object", "type": "one_to_one"}),
            "no foreign key between public.group and public.customer",
        ),
        (
            _through_document(
                relationship={
                    "variant": "object",
                    "type": "one_to_one",
                    "foreign_key": {"parent": ["id"], "child": ["customer_id"]},
                }
            ),
            "foreign_key names column(s) that do not exist: customer_id (in public.group)",
        ),
    ],
)
def test_schema_not_fitting_the_database_is_refused_at_create_time(
    document: dict[str, Any], problem: str, databases: dict[str, str], postgres_server: SqlServer, runtime: Runtime
) -> None:
    populate(dsn(postgres_server, databases["through"]), EXAMPLES["through"], rows=3)
    config = source_config(postgres_server, databases["through"], document, "unused")
    problems = runtime.problems(config)
    assert any(problem in p for p in problems.get("document.schema", [])), problems
    with pytest.raises(Exception, match=r"document\.schema"):
        runtime.create("refused", config)
    with psycopg.connect(dsn(postgres_server, databases["through"])) as connection:
        slots = connection.execute(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s", (config["slot.name"],)
        )
        assert slots.fetchone() == (0,)


def test_each_change_rewrites_exactly_the_documents_it_touches_once_per_transaction(
    databases: dict[str, str], postgres_server: SqlServer, runtime: Runtime
) -> None:
    """Through schema: customers with their groups (customer_group between). A group renamed rewrites its
    customers' documents, a membership moved (re-parenting) moves the group between two documents, a customer
    deleted deletes its document, and one transaction touching a document several times yields it once."""
    url = dsn(postgres_server, databases["through"])
    populate(url, EXAMPLES["through"], rows=0)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("INSERT INTO customer (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")
        connection.execute("INSERT INTO \"group\" (id, group_name) VALUES (10, 'red'), (20, 'blue')")
        connection.execute(
            "INSERT INTO customer_group (id, customer_id, group_id) VALUES (100, 1, 10), (101, 2, 10), (102, 3, 20)"
        )
    topic = f"docs-once-{next(_ids)}"
    runtime.create("once", source_config(postgres_server, databases["through"], EXAMPLES["through"].schema()[0], topic))
    runtime.wait_running("once")
    wait_for(lambda: len(runtime.read_topic(topic)) == 3, 60, "the initial sync's three documents")

    def documents() -> list[tuple[str, Any]]:
        out = []
        for record in runtime.read_topic(topic)[3:]:
            key = json.loads(record.key or b"null")
            value = json.loads(record.value) if record.value is not None else None
            out.append((key["payload"], value["payload"] if value is not None else None))
        return out

    transactions = [
        [
            "UPDATE \"group\" SET group_name = 'crimson' WHERE id = 10",
            "UPDATE \"group\" SET group_name = 'scarlet' WHERE id = 10",
            "UPDATE customer SET name = 'ann b' WHERE id = 1",
        ],
        ["UPDATE customer_group SET customer_id = 3 WHERE id = 101"],  # bob's red membership moves to cy
        ["DELETE FROM customer_group WHERE customer_id = 1", "DELETE FROM customer WHERE id = 1"],
    ]
    with psycopg.connect(url) as connection:
        for statements, total in zip(transactions, (2, 4, 5), strict=True):
            with connection.transaction():
                for statement in statements:
                    connection.execute(statement)
            wait_for(lambda total=total: len(documents()) >= total, 60, lambda: f"documents: {documents()}")
    found = documents()
    assert found[:2] == [
        ("1", {"id": 1, "name": "ann b", "group": [{"id": 10, "group_name": "scarlet"}]}),
        ("2", {"id": 2, "name": "bob", "group": [{"id": 10, "group_name": "scarlet"}]}),
    ]
    assert sorted(found[2:4], key=lambda item: item[0]) == [
        ("2", {"id": 2, "name": "bob", "group": None}),
        (
            "3",
            {"id": 3, "name": "cy", "group": [{"id": 10, "group_name": "scarlet"}, {"id": 20, "group_name": "blue"}]},
        ),
    ]
    assert found[4:] == [("1", None)]
    runtime.herder.delete_connector("once")


def test_book_document_has_pgsyncs_keys_and_values(databases: dict[str, str], postgres_server: SqlServer) -> None:
    """One book of PGSync's book example, built by Hub: JSON path columns under PGSync's names with PostgreSQL's
    values (null where the path is missing), replace before rename (isbn "00" -> "XX", then named book_isbn),
    PGSync's concat (an absent name stands for itself, false is left out), and a scalar child's replace."""
    url = dsn(postgres_server, databases["book"])
    populate(url, EXAMPLES["book"], rows=0)
    doc = {"firstname": "ann", "a": {"b": {"c": [0, 1, 2, 3, 40]}}, "x": [{"y": "why"}, {"w": 1}]}
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("INSERT INTO publisher (id, name, is_active) VALUES (3, 'pub', false)")
        connection.execute("INSERT INTO language (id, code) VALUES (1, 'en-GB'), (2, 'fr')")
        connection.execute(
            "INSERT INTO book (id, isbn, title, doc, tags, publisher_id) VALUES (1, '900-100', 't', %s, %s, 3)",
            (json.dumps(doc), json.dumps(["a"])),
        )
        connection.execute("INSERT INTO book_language (book_isbn, language_id) VALUES ('900-100', 1), ('900-100', 2)")
        tree = resolve(load_document(EXAMPLES["book"].schema()[0]), connection)
        (document,) = DocumentBuilder(tree, connection).documents([(1,)]).values()
    assert document == {
        "book_id": 1,
        "book_isbn": "9XX-1XX",
        "book_title": "t",
        "description": None,
        "tags": ["a"],
        "doc_firstname": "ann",
        "doc_coordinates": None,
        "doc_a,b,c_4": 40,
        "doc_x": [{"y": "why"}, {"w": 1}],
        "doc_x_0_y": "why",
        "doc_x_1_z": None,
        "publish_date": None,
        "publisher_label": {
            "publisher_name": "pub",
            "publisher_id": 3,
            "is_active": False,
            "xyz": "3_pub_foo",
            "abc": "3-pub-bar",
        },
        "book_languages": [{"book_isbn": "900-100", "language_id": 1}, {"book_isbn": "900-100", "language_id": 2}],
        "authors": None,
        "languages": ["en=GB", "fr"],
        "subjects": None,
        "ratings": None,
    }
