"""The server's answers have the shape of Salesforce's documentation examples (``doc_examples/``): the same keys
with values of the same JSON types. Asked through simple-salesforce and its requests session."""

from __future__ import annotations

import datetime
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parent / "doc_examples"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively; a list is the shape of its first element."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else type(value).__name__


def raw(sf: Salesforce, method: str, path: str, **kwargs: Any) -> requests.Response:
    return sf.session.request(method, sf.base_url + path, headers=sf.headers, **kwargs)


def test_versions(sf: Salesforce) -> None:
    answer = sf.session.get(sf.base_url.split("/services/")[0] + "/services/data/").json()
    assert {shape(entry) == shape(example("versions.json")[0]) for entry in answer} == {True}
    assert {"version": "59.0", "label": "Winter '24", "url": "/services/data/v59.0"} in answer


def test_query_and_query_more(sf: Salesforce, marker: str) -> None:
    sf.Account.create({"Name": marker})
    assert shape(sf.query(f"SELECT Id, Name FROM Account WHERE Name = '{marker}'")) == shape(example("query.json"))
    for _ in range(201):
        sf.Account.create({"Name": marker})
    paged = sf.query(
        f"SELECT Id, Name FROM Account WHERE Name = '{marker}'", headers={"Sforce-Query-Options": "batchSize=200"}
    )
    assert shape(paged) == shape(example("query_more.json"))


def test_create_and_upsert(sf: Salesforce, invoice_object: str, marker: str) -> None:
    assert shape(sf.Account.create({"Name": marker})) == shape(example("create.json"))
    created = raw(sf, "PATCH", f"sobjects/Invoice__c/Number__c/{marker}", json={"Amount__c": 1})
    assert created.status_code == 201
    assert shape(created.json()) == shape(example("upsert_created.json"))
    updated = raw(sf, "PATCH", f"sobjects/Invoice__c/Number__c/{marker}", json={"Amount__c": 2})
    assert updated.status_code == 200
    assert shape(updated.json()) == shape(example("upsert_updated.json"))


def test_error_body(sf: Salesforce) -> None:
    with pytest.raises(SalesforceError) as failure:
        sf.Contact.create({"LastName": "x", "AccountId": "not-an-id"})
    assert failure.value.content == [
        {
            "message": "Account ID: id value of incorrect type: not-an-id",
            "errorCode": "MALFORMED_ID",
            "fields": ["AccountId"],
        }
    ]
    assert shape(failure.value.content) == shape(example("error.json"))


def test_deleted_and_updated(sf: Salesforce, marker: str) -> None:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=1)
    record_id = sf.Account.create({"Name": marker})["id"]
    other = sf.Account.create({"Name": marker})["id"]
    sf.Account.delete(record_id)
    end = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=1)
    deleted = sf.Account.deleted(start, end)
    assert shape(deleted) == shape(example("deleted.json"))
    assert record_id in {entry["id"] for entry in deleted["deletedRecords"]}
    updated = sf.Account.updated(start, end)
    assert shape(updated) == shape(example("updated.json"))
    assert other in updated["ids"]


def test_limits(sf: Salesforce) -> None:
    limits = sf.limits()
    assert {shape(entry) == shape(example("limits_entry.json")) for entry in limits.values()} == {True}
    assert limits["DailyApiRequests"]["Remaining"] < limits["DailyApiRequests"]["Max"]


def test_describe(sf: Salesforce) -> None:
    described = sf.describe()
    entry = shape(example("describe_global.json")["sobjects"][0])
    assert shape({**described, "sobjects": []}) == shape({**example("describe_global.json"), "sobjects": []})
    assert {shape(item) == entry for item in described["sobjects"]} == {True}
    documented = set(example("describe_field_keys.json"))
    for field in sf.Account.describe()["fields"]:
        assert set(field) <= documented


def test_collections(sf: Salesforce, invoice_object: str, marker: str) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": marker},
        {"attributes": {"type": "Contact"}, "LastName": marker},
    ]
    assert shape(sf.restful("composite/sobjects", method="POST", json={"records": records})) == shape(
        example("collections_create.json")
    )
    rolled_back = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"allOrNone": True, "records": [records[0], {"attributes": {"type": "Contact"}}]},
    )
    assert shape(rolled_back) == shape(example("collections_rolled_back.json"))
    upsert = [{"attributes": {"type": "Invoice__c"}, "Number__c": marker, "Amount__c": 1}]
    assert shape(
        sf.restful("composite/sobjects/Invoice__c/Number__c", method="PATCH", json={"records": upsert})
    ) == shape(example("collections_upsert.json"))


def test_bulk_job_infos(sf: Salesforce, marker: str) -> None:
    ingest = sf.bulk2.Account._client
    created = ingest.create_job("insert")
    assert shape(created) == shape(example("bulk_ingest_create.json"))
    ingest.upload_job_data(created["id"], f"Name\n{marker}\n")
    ingest.close_job(created["id"])
    ingest.wait_for_job(created["id"], False, 0.05)
    assert shape(ingest.get_job(created["id"], False)) == shape(example("bulk_ingest_complete.json"))
    query = ingest.create_job("query", query=f"SELECT Id FROM Account WHERE Name = '{marker}'")
    assert shape(query) == shape(example("bulk_query_create.json"))
    ingest.wait_for_job(query["id"], True, 0.05)
    assert shape(ingest.get_job(query["id"], True)) == shape(example("bulk_query_complete.json"))


def test_oauth_answers(salesforce_server: SalesforceServer) -> None:
    session = client.http_session(salesforce_server)
    token_url = (
        "https://login.salesforce.com/services/oauth2/token"
        if salesforce_server.control
        else (salesforce_server.url + "/services/oauth2/token")
    )
    granted = session.post(
        token_url,
        data={"grant_type": "client_credentials"},
        auth=(salesforce_server.consumer_key, salesforce_server.consumer_secret),
    )
    assert shape(granted.json()) == shape(example("oauth_client_credentials.json"))
    refused = session.post(
        token_url,
        data={
            "grant_type": "password",
            "client_id": salesforce_server.consumer_key,
            "client_secret": salesforce_server.consumer_secret,
            "username": "nobody",
            "password": "x",
        },
    )
    assert refused.status_code == 400
    assert refused.json() == example("oauth_error.json")


def test_jwt_answer(salesforce_server: SalesforceServer) -> None:
    sf = client.jwt_login(salesforce_server)
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"] is True
    import jwt

    assertion = jwt.encode(
        {
            "iss": salesforce_server.consumer_key,
            "sub": salesforce_server.username,
            "aud": "https://login.salesforce.com",
            "exp": int(datetime.datetime.now(datetime.UTC).timestamp()) + 60,
        },
        Path(str(salesforce_server.private_key_file)).read_bytes(),
        algorithm="RS256",
    )
    answer = client.http_session(salesforce_server).post(
        "https://login.salesforce.com/services/oauth2/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
    )
    assert shape(answer.json()) == shape(example("oauth_jwt.json"))


def test_soap_login_answer_and_fault(salesforce_server: SalesforceServer) -> None:
    session = client.http_session(salesforce_server)
    envelope = (
        '<?xml version="1.0" encoding="utf-8" ?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login><urn:username>{user}</urn:username>'
        "<urn:password>{password}</urn:password></urn:login></env:Body></env:Envelope>"
    )
    url = "https://login.salesforce.com/services/Soap/u/59.0"
    headers = {"content-type": "text/xml", "SOAPAction": "login"}
    good = session.post(
        url,
        envelope.format(
            user=salesforce_server.username, password=salesforce_server.password + salesforce_server.security_token
        ),
        headers=headers,
    )
    result = ET.fromstring(good.content).find(".//{urn:partner.soap.sforce.com}result")
    assert result is not None
    names = [child.tag.split("}")[1] for child in result]
    assert names[:7] == [
        "metadataServerUrl",
        "passwordExpired",
        "sandbox",
        "serverUrl",
        "sessionId",
        "userId",
        "userInfo",
    ]
    bad = session.post(url, envelope.format(user=salesforce_server.username, password="wrong"), headers=headers)
    assert bad.status_code == 500
    fault = ET.fromstring(bad.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault is not None
    assert fault.findtext("faultcode") == "sf:INVALID_LOGIN"
    assert fault.findtext(".//{urn:fault.partner.soap.sforce.com}exceptionCode") == "INVALID_LOGIN"


def request_example(name: str) -> Any:
    return json.loads((EXAMPLES / "requests" / name).read_text())


def test_documented_requests_are_answered_as_documented(sf: Salesforce) -> None:
    created = raw(sf, "POST", "sobjects/Account/", json=request_example("create_account.json"))
    assert created.status_code == 201
    assert shape(created.json()) == shape(example("create.json"))
    collection = raw(sf, "POST", "composite/sobjects", json=request_example("collections_create.json"))
    assert shape(collection.json()) == shape(example("collections_create.json"))
    job = raw(sf, "POST", "jobs/ingest", json=request_example("bulk_ingest_job.json")).json()
    assert shape(job) == shape(example("bulk_ingest_create.json"))
    upload = sf.session.put(
        sf.base_url + f"jobs/ingest/{job['id']}/batches",
        data=(EXAMPLES / "requests" / "bulk_insert.csv").read_bytes(),
        headers={**sf.headers, "Content-Type": "text/csv"},
    )
    assert upload.status_code == 201
    raw(sf, "PATCH", f"jobs/ingest/{job['id']}", json={"state": "UploadComplete"})
    sf.bulk2.Account._client.wait_for_job(job["id"], False, 0.05)
    assert raw(sf, "GET", f"jobs/ingest/{job['id']}").json()["numberRecordsProcessed"] == 3
    results = raw(sf, "GET", f"jobs/ingest/{job['id']}/successfulResults/").text.splitlines()
    assert (
        results[0]
        == '"sf__Id","sf__Created","Name","ShippingCity","NumberOfEmployees","AnnualRevenue","Website","Description"'
    )
    assert results[3].endswith('"Third ""quoted"" sample"')
    query = raw(sf, "POST", "jobs/query", json=request_example("bulk_query_job.json")).json()
    assert shape(query) == shape(example("bulk_query_create.json"))
