"""Upsert by external id and the sObject Collections resource (``composite/sobjects``) through simple-salesforce."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


def test_upsert_creates_then_updates(sf: Salesforce, invoice_object: str, marker: str) -> None:
    assert sf.Invoice__c.upsert(f"Number__c/{marker}", {"Amount__c": 5}) == 201
    assert sf.Invoice__c.upsert(f"Number__c/{marker}", {"Amount__c": 6}) == 200
    record = sf.Invoice__c.get_by_custom_id("Number__c", marker)
    assert record["Amount__c"] == 6.0
    assert record["Name"] == record["Id"]


def test_unique_value_is_duplicate_value(sf: Salesforce, invoice_object: str, marker: str) -> None:
    first = sf.Invoice__c.create({"Amount__c": 1, "Code__c": marker})["id"]
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.Invoice__c.create({"Amount__c": 2, "Code__c": marker.upper()})
    assert failure.value.content == [
        {
            "message": f"duplicate value found: Code__c duplicates value on record with id: {first}",
            "errorCode": "DUPLICATE_VALUE",
            "fields": ["Code__c"],
        }
    ]


def test_create_collection_all_or_none_rolls_every_row_back(sf: Salesforce, marker: str) -> None:
    body = {
        "allOrNone": True,
        "records": [
            {"attributes": {"type": "Account"}, "Name": marker},
            {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert results == [
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the request was using "
                    "AllOrNone header",
                    "fields": [],
                }
            ],
        },
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [LastName]",
                    "fields": ["LastName"],
                }
            ],
        },
    ]
    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{marker}'")["totalSize"] == 0


def test_collection_without_all_or_none_keeps_the_good_rows(sf: Salesforce, marker: str) -> None:
    body = {
        "records": [
            {"attributes": {"type": "Account"}, "Name": marker},
            {"attributes": {"type": "Account"}},
        ]
    }
    good, bad = sf.restful("composite/sobjects", method="POST", json=body)
    assert good["success"] is True
    assert good["errors"] == []
    assert bad["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    update = {"records": [{"attributes": {"type": "Account"}, "id": good["id"], "Phone": "555"}]}
    assert sf.restful("composite/sobjects", method="PATCH", json=update) == [
        {"id": good["id"], "success": True, "errors": []}
    ]
    fetched = sf.restful("composite/sobjects/Account", params={"ids": good["id"], "fields": "Name,Phone"})
    assert fetched[0]["Phone"] == "555"
    assert sf.restful("composite/sobjects", method="DELETE", params={"ids": good["id"]}) == [
        {"id": good["id"], "success": True, "errors": []}
    ]


def test_upsert_collection_reports_created(sf: Salesforce, invoice_object: str, marker: str) -> None:
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Invoice__c"}, "Number__c": f"{marker}-a", "Amount__c": 1},
            {"attributes": {"type": "Invoice__c"}, "Number__c": f"{marker}-a", "Amount__c": 2},
        ],
    }
    first, second = sf.restful("composite/sobjects/Invoice__c/Number__c", method="PATCH", json=body)
    assert first["created"] is True
    assert second["created"] is False
    assert first["id"] == second["id"]


def test_more_than_200_records_is_refused(sf: Salesforce) -> None:
    body = {"records": [{"attributes": {"type": "Account"}, "Name": str(n)} for n in range(201)]}
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.restful("composite/sobjects", method="POST", json=body)
    assert failure.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_push_topic_is_an_sobject_whose_query_is_checked(sf: Salesforce, marker: str) -> None:
    name = marker[:20]
    created = sf.PushTopic.create(
        {"Name": name, "Query": "SELECT Id, Name FROM Account WHERE Industry = 'Banking'", "ApiVersion": 59.0}
    )
    topic = sf.PushTopic.get(created["id"])
    assert topic["NotifyForFields"] == "Referenced"
    assert topic["NotifyForOperationCreate"] is True
    assert topic["IsActive"] is True
    with pytest.raises(SalesforceMalformedRequest) as failure:
        sf.PushTopic.create({"Name": f"{name}x", "Query": "SELECT Nope FROM Account", "ApiVersion": 59.0})
    assert failure.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_platform_event_publish_answers_operation_enqueued(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    if not salesforce_server.control:
        pytest.skip("defines a platform event through the control API")
    client.control(
        salesforce_server, "POST", "objects", {"name": "Ink_Low__e", "fields": [{"name": "Model__c", "type": "string"}]}
    )
    published = sf.Ink_Low__e.create({"Model__c": marker})
    assert published["success"] is True
    assert published["id"].startswith("e")
    [note] = published["errors"]
    assert note["statusCode"] == "OPERATION_ENQUEUED"
    assert note["fields"] == []
    assert len(note["message"]) == 36
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query("SELECT Id FROM Ink_Low__e")
    assert refused.value.content[0]["errorCode"] == "INVALID_TYPE"
