"""The org model's contract with the change feed: one RecordChange per committed change, none for a rollback."""

from __future__ import annotations

import pytest

from tests.harness.salesforce import errors
from tests.harness.salesforce.changes import RecordChange
from tests.harness.salesforce.org import Org
from tests.harness.salesforce.schema import FieldDef


@pytest.fixture
def org_and_changes() -> tuple[Org, list[RecordChange]]:
    org = Org()
    seen: list[RecordChange] = []
    org.feed.subscribe(seen.append)
    return org, seen


def test_every_change_is_published_in_commit_order(org_and_changes: tuple[Org, list[RecordChange]]) -> None:
    org, seen = org_and_changes
    with org.transaction() as tx:
        record_id = org.insert(tx, "Account", {"Name": "Acme", "Phone": "1"})
    with org.transaction() as tx:
        org.update(tx, "Account", record_id, {"Phone": "2"})
    with org.transaction() as tx:
        org.delete(tx, "Account", record_id)
    with org.transaction() as tx:
        org.undelete(tx, record_id)
    assert [c.change_type for c in seen] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    assert [c.commit_number for c in seen] == [1, 2, 3, 4]
    assert all(c.entity == "Account" and c.record_ids == (record_id,) for c in seen)
    assert {"Name", "Phone", "CreatedDate"} <= set(seen[0].changed_fields)
    assert set(seen[1].changed_fields) == {"Phone", "LastModifiedDate"}
    assert seen[1].fields["Phone"] == "2"
    assert seen[2].fields["Phone"] == "2"
    assert seen[2].fields["IsDeleted"] is False
    assert len({c.transaction_key for c in seen}) == 4


def test_one_transaction_shares_its_key_and_timestamp(org_and_changes: tuple[Org, list[RecordChange]]) -> None:
    org, seen = org_and_changes
    with org.transaction() as tx:
        org.insert(tx, "Account", {"Name": "A"})
        org.insert(tx, "Account", {"Name": "B"})
    assert seen[0].transaction_key == seen[1].transaction_key
    assert seen[0].commit_timestamp_ms == seen[1].commit_timestamp_ms


def test_a_rolled_back_transaction_publishes_nothing_and_leaves_nothing(
    org_and_changes: tuple[Org, list[RecordChange]],
) -> None:
    org, seen = org_and_changes

    def two_inserts() -> None:
        with org.transaction() as tx:
            org.insert(tx, "Account", {"Name": "kept?"})
            org.insert(tx, "Account", {})

    with pytest.raises(errors.ApiError):
        two_inserts()
    assert seen == []
    assert org.records("Account") == []


def test_unique_values_are_released_by_delete_and_rechecked_by_undelete() -> None:
    org = Org()
    org.define_object("Item__c", [FieldDef("Code__c", "string", external_id=True, unique=True)])
    with org.transaction() as tx:
        first = org.insert(tx, "Item__c", {"Code__c": "A"})
    with org.transaction() as tx:
        org.delete(tx, "Item__c", first)
    with org.transaction() as tx:
        org.insert(tx, "Item__c", {"Code__c": "a"})
    with pytest.raises(errors.ApiError) as failure, org.transaction() as tx:
        org.undelete(tx, first)
    assert failure.value.code == "DUPLICATE_VALUE"


def test_platform_events_are_published_not_stored(org_and_changes: tuple[Org, list[RecordChange]]) -> None:
    org, seen = org_and_changes
    org.define_object("Order_Placed__e", [FieldDef("Amount__c", "double")])
    with org.transaction() as tx:
        event_id = org.insert(tx, "Order_Placed__e", {"Amount__c": 3})
    assert seen[0].entity == "Order_Placed__e"
    assert seen[0].change_type == "CREATE"
    assert seen[0].record_ids == (event_id,)
    assert seen[0].fields["Amount__c"] == 3.0
    assert seen[0].fields["EventUuid"]
