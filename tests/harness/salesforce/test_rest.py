"""The REST data API through simple-salesforce: logins, describe, CRUD, queries with locators, errors."""

from __future__ import annotations

import datetime

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("login", [client.password_login, client.jwt_login, client.client_credentials_login])
def test_each_grant_logs_in_and_queries(salesforce_server: SalesforceServer, login: object) -> None:
    sf = login(salesforce_server)  # type: ignore[operator]
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"] is True


def test_wrong_password_is_invalid_login(salesforce_server: SalesforceServer) -> None:
    wrong = SalesforceServer(**{**salesforce_server.__dict__, "password": "not-the-password"})
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        client.password_login(wrong)
    assert failure.value.code == "INVALID_LOGIN"
    assert "not-the-password" not in str(failure.value)


def test_wrong_consumer_secret_is_invalid_client(salesforce_server: SalesforceServer) -> None:
    wrong = SalesforceServer(**{**salesforce_server.__dict__, "consumer_secret": "nope"})
    with pytest.raises(SalesforceAuthenticationFailed) as failure:
        client.client_credentials_login(wrong)
    assert failure.value.code == "invalid_client"


def test_create_get_update_delete(sf: Salesforce, marker: str) -> None:
    created = sf.Account.create({"Name": f"Acme {marker}", "NumberOfEmployees": 12, "AnnualRevenue": 1.5})
    assert created["success"] is True
    assert created["errors"] == []
    record_id = created["id"]
    assert len(record_id) == 18
    assert record_id.startswith("001")
    record = sf.Account.get(record_id)
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v59.0/sobjects/Account/{record_id}"}
    assert record["Name"] == f"Acme {marker}"
    assert record["NumberOfEmployees"] == 12
    assert record["CreatedDate"] == record["SystemModstamp"]
    datetime.datetime.strptime(record["CreatedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert sf.Account.update(record_id, {"Industry": "Banking"}) == 204
    assert sf.Account.get(record_id)["Industry"] == "Banking"
    assert sf.Account.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(record_id)
    assert gone.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"


def test_deleted_records_are_in_query_all_only(sf: Salesforce, marker: str) -> None:
    record_id = sf.Account.create({"Name": marker})["id"]
    sf.Account.delete(record_id)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Name = '{marker}'"
    assert sf.query(soql)["totalSize"] == 0
    assert sf.query_all(soql, include_deleted=True)["records"][0]["IsDeleted"] is True


def test_required_field_missing(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Contact.create({"FirstName": "Ada"})
    assert failure.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


def test_unknown_field_is_invalid_field(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Account.create({"Name": "x", "Nope__c": 1})
    assert failure.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_unknown_object_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as failure:
        sf.Nothing__c.describe()
    assert failure.value.content[0]["errorCode"] == "NOT_FOUND"


def test_describe_reports_fields_and_flags(sf: Salesforce) -> None:
    described = sf.Account.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert described["name"] == "Account"
    assert described["keyPrefix"] == "001"
    assert fields["Id"]["type"] == "id"
    assert fields["Id"]["createable"] is False
    assert fields["Name"]["nillable"] is False
    assert fields["SystemModstamp"]["type"] == "datetime"
    names = {entry["name"] for entry in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Opportunity", "PushTopic"} <= names


def test_query_pages_through_next_records_url(sf: Salesforce, marker: str) -> None:
    for number in range(450):
        sf.Lead.create({"LastName": f"L{number:03d}", "Company": marker})
    first = sf.query(
        f"SELECT Id, LastName FROM Lead WHERE Company = '{marker}' ORDER BY LastName",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    assert first["totalSize"] == 450
    assert first["done"] is False
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    every = sf.query_all(f"SELECT Id, LastName FROM Lead WHERE Company = '{marker}' ORDER BY LastName")
    assert [r["LastName"] for r in every["records"]] == [f"L{n:03d}" for n in range(450)]


def test_where_with_datetime_literal_and_in(sf: Salesforce, marker: str) -> None:
    early = sf.Account.create({"Name": marker, "Industry": "Energy"})["id"]
    stamp = sf.Account.get(early)["SystemModstamp"]
    late = sf.Account.create({"Name": marker, "Industry": "Banking"})["id"]
    literal = stamp[:19] + "Z"
    rows = sf.query_all(
        f"SELECT Id FROM Account WHERE Name = '{marker}' AND SystemModstamp >= {literal} "
        "AND Industry IN ('Energy', 'Banking') ORDER BY Id"
    )["records"]
    assert [r["Id"] for r in rows] == [early, late]


def test_malformed_query(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.query("SELECT Id FROM Account GROUP BY Name")
    assert failure.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_query_all_pages_through_the_query_resource_and_keeps_deleted_rows(sf: Salesforce, marker: str) -> None:
    for number in range(500):
        record_id = sf.Account.create({"Name": marker, "NumberOfEmployees": number})["id"]
        if number % 2:
            sf.Account.delete(record_id)
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Name = '{marker}' AND isDeleted = TRUE"
    page = sf.query(soql, include_deleted=True, headers={"Sforce-Query-Options": "batchSize=200"})
    assert page["nextRecordsUrl"].startswith("/services/data/v59.0/query/")
    rest = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
    assert len(page["records"]) + len(rest["records"]) == 250
    assert {row["IsDeleted"] for row in page["records"] + rest["records"]} == {True}
