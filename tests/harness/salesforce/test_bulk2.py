"""Bulk API 2.0 through simple-salesforce's ``sf.bulk2``: ingest jobs, their result files, and query jobs with
locator paging."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError

pytestmark = pytest.mark.integration

POLL_S = 0.05  # simple-salesforce's first wait before it polls the job state


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_then_query_every_row(sf: Salesforce, marker: str) -> None:
    records = [{"Name": f"{marker}-{n:04d}", "NumberOfEmployees": str(n)} for n in range(1000)]
    [result] = sf.bulk2.Account.insert(records=records, wait=POLL_S)
    assert result["numberRecordsProcessed"] == 1000
    assert result["numberRecordsFailed"] == 0
    pages = list(
        sf.bulk2.Account.query(
            f"SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE '{marker}%' ORDER BY Name",
            max_records=300,
            wait=POLL_S,
        )
    )
    assert [len(rows_of(page)) for page in pages] == [300, 300, 300, 100]
    names = [row["Name"] for page in pages for row in rows_of(page)]
    assert names == [f"{marker}-{n:04d}" for n in range(1000)]
    assert rows_of(pages[0])[7]["NumberOfEmployees"] == "7"


def test_failed_rows_carry_the_error_and_the_uploaded_values(sf: Salesforce, marker: str) -> None:
    records = [{"LastName": "ok", "Company": marker}, {"LastName": "", "Company": marker}]
    [result] = sf.bulk2.Lead.insert(records=records, wait=POLL_S)
    assert result["numberRecordsFailed"] == 1
    failed = rows_of(sf.bulk2.Lead.get_failed_records(result["job_id"]))
    assert failed == [
        {
            "sf__Id": "",
            "sf__Error": "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            "LastName": "",
            "Company": marker,
        }
    ]
    successful = rows_of(sf.bulk2.Lead.get_successful_records(result["job_id"]))
    assert len(successful) == 1
    assert successful[0]["sf__Created"] == "true"
    assert successful[0]["sf__Id"].startswith("00Q")
    assert rows_of(sf.bulk2.Lead.get_unprocessed_records(result["job_id"])) == []


def test_upsert_by_external_id_creates_then_updates(sf: Salesforce, invoice_object: str, marker: str) -> None:
    first = [{"Number__c": f"{marker}-1", "Amount__c": "10"}, {"Number__c": f"{marker}-2", "Amount__c": "20"}]
    [created] = sf.bulk2.Invoice__c.upsert(records=first, external_id_field="Number__c", wait=POLL_S)
    assert created["numberRecordsFailed"] == 0
    second = [{"Number__c": f"{marker}-2", "Amount__c": "25"}, {"Number__c": f"{marker}-3", "Amount__c": "30"}]
    [changed] = sf.bulk2.Invoice__c.upsert(records=second, external_id_field="Number__c", wait=POLL_S)
    outcome = {
        r["Number__c"]: r["sf__Created"] for r in rows_of(sf.bulk2.Invoice__c.get_successful_records(changed["job_id"]))
    }
    assert outcome == {f"{marker}-2": "false", f"{marker}-3": "true"}
    amounts = sf.query_all(
        f"SELECT Number__c, Amount__c FROM Invoice__c WHERE Number__c LIKE '{marker}%' ORDER BY Number__c"
    )
    assert [(r["Number__c"], r["Amount__c"]) for r in amounts["records"]] == [
        (f"{marker}-1", 10.0),
        (f"{marker}-2", 25.0),
        (f"{marker}-3", 30.0),
    ]


def test_delete_then_query_all_sees_the_deleted(sf: Salesforce, marker: str) -> None:
    ids = [sf.Account.create({"Name": marker})["id"] for _ in range(3)]
    [result] = sf.bulk2.Account.delete(records=[{"Id": record_id} for record_id in ids], wait=POLL_S)
    assert result["numberRecordsProcessed"] == 3
    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{marker}'")["totalSize"] == 0
    pages = list(sf.bulk2.Account.query_all(f"SELECT Id, IsDeleted FROM Account WHERE Name = '{marker}'", wait=POLL_S))
    assert sorted((r["Id"], r["IsDeleted"]) for r in rows_of(pages[0])) == sorted((i, "true") for i in ids)


def test_a_header_naming_no_field_fails_the_job(sf: Salesforce) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Account.insert(records=[{"Name": "x", "Nope__c": "1"}], wait=POLL_S)


def test_query_job_csv_formats_nulls_booleans_and_datetimes(sf: Salesforce, marker: str) -> None:
    record_id = sf.Account.create({"Name": marker})["id"]
    stamp = sf.Account.get(record_id)["CreatedDate"]
    [page] = list(
        sf.bulk2.Account.query(
            f"SELECT Id, Phone, IsDeleted, CreatedDate FROM Account WHERE Id = '{record_id}'", wait=POLL_S
        )
    )
    assert page.splitlines() == ['"Id","Phone","IsDeleted","CreatedDate"', f'"{record_id}","","false","{stamp[:-5]}Z"']


def test_hard_delete_leaves_nothing_in_the_recycle_bin(sf: Salesforce, marker: str) -> None:
    record_id = sf.Account.create({"Name": marker})["id"]
    [result] = sf.bulk2.Account.hard_delete(records=[{"Id": record_id}], wait=POLL_S)
    assert result["numberRecordsProcessed"] == 1
    assert sf.query_all(f"SELECT Id FROM Account WHERE Name = '{marker}'", include_deleted=True)["totalSize"] == 0


def test_an_aborted_job_processes_nothing_and_lists_its_rows_as_unprocessed(sf: Salesforce, marker: str) -> None:
    jobs = sf.bulk2.Account._client
    job = jobs.create_job("insert")
    jobs.upload_job_data(job["id"], f"Name\n{marker}-1\n{marker}-2\n")
    assert jobs.abort_job(job["id"], False)["state"] == "Aborted"
    assert jobs.get_job(job["id"], False)["numberRecordsProcessed"] == 0
    unprocessed = rows_of(jobs.get_ingest_results(job["id"], "unprocessedrecords"))
    assert unprocessed == [{"Name": f"{marker}-1"}, {"Name": f"{marker}-2"}]
    assert sf.query(f"SELECT Id FROM Account WHERE Name LIKE '{marker}%'")["totalSize"] == 0


def test_a_closed_job_takes_no_more_data(sf: Salesforce, marker: str) -> None:
    jobs = sf.bulk2.Account._client
    job = jobs.create_job("insert")
    jobs.upload_job_data(job["id"], f"Name\n{marker}\n")
    jobs.close_job(job["id"])
    with pytest.raises(SalesforceError) as failure:
        jobs.upload_job_data(job["id"], f"Name\n{marker}\n")
    assert failure.value.status == 409


def test_update_sets_null_with_na_and_leaves_empty_values_alone(sf: Salesforce, marker: str) -> None:
    record_id = sf.Account.create({"Name": marker, "Phone": "555", "Industry": "Energy"})["id"]
    [result] = sf.bulk2.Account.update(records=[{"Id": record_id, "Phone": "#N/A", "Industry": ""}], wait=POLL_S)
    assert result["numberRecordsFailed"] == 0
    record = sf.Account.get(record_id)
    assert record["Phone"] is None
    assert record["Industry"] == "Energy"


def test_pipe_delimited_crlf_jobs(sf: Salesforce, marker: str) -> None:
    records = [{"Name": f"{marker}|{n}", "Description": "two\nlines"} for n in range(3)]
    [result] = sf.bulk2.Account.insert(records=records, column_delimiter="PIPE", line_ending="CRLF", wait=POLL_S)
    assert result["numberRecordsFailed"] == 0
    [page] = list(
        sf.bulk2.Account.query(
            f"SELECT Name, Description FROM Account WHERE Name LIKE '{marker}%' ORDER BY Name",
            column_delimiter="PIPE",
            line_ending="CRLF",
            wait=POLL_S,
        )
    )
    rows = list(csv.reader(io.StringIO(page, newline=""), delimiter="|"))
    assert rows == [["Name", "Description"]] + [[f"{marker}|{n}", "two\nlines"] for n in range(3)]
    assert page.endswith("\r\n")
