"""The objects an org starts with and the system fields every object has.

Responsibility: build :class:`SObjectType` values — data objects with Salesforce's audit fields (Id, IsDeleted,
CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp), platform events with theirs
(ReplayId, CreatedDate, CreatedById, EventUuid), and Account, Contact, Lead, Opportunity and PushTopic with the fields
the tests use (a subset of the real ones).
"""

from __future__ import annotations

from typing import Any

from tests.harness.salesforce.schema import FieldDef, SObjectType


def system_fields() -> list[FieldDef]:
    audit: dict[str, Any] = {"createable": False, "updateable": False, "nillable": False, "defaulted_on_create": True}
    return [
        FieldDef(
            "Id", "id", label="Record ID", nillable=False, createable=False, updateable=False, defaulted_on_create=True
        ),
        FieldDef("IsDeleted", "boolean", label="Deleted", **audit),
        FieldDef("CreatedDate", "datetime", label="Created Date", **audit),
        FieldDef(
            "CreatedById",
            "reference",
            label="Created By ID",
            reference_to=("User",),
            relationship_name="CreatedBy",
            **audit,
        ),
        FieldDef("LastModifiedDate", "datetime", label="Last Modified Date", **audit),
        FieldDef(
            "LastModifiedById",
            "reference",
            label="Last Modified By ID",
            reference_to=("User",),
            relationship_name="LastModifiedBy",
            **audit,
        ),
        FieldDef("SystemModstamp", "datetime", label="System Modstamp", **audit),
    ]


def data_object(name: str, key_prefix: str, fields: list[FieldDef], *, custom: bool = False) -> SObjectType:
    every = system_fields() + fields
    return SObjectType(name, key_prefix, custom=custom, fields={f.name: f for f in every})


def event_object(name: str, key_prefix: str, fields: list[FieldDef]) -> SObjectType:
    every = [
        FieldDef("ReplayId", "string", createable=False, updateable=False, defaulted_on_create=True),
        FieldDef(
            "CreatedDate", "datetime", createable=False, updateable=False, nillable=False, defaulted_on_create=True
        ),
        FieldDef(
            "CreatedById",
            "reference",
            createable=False,
            updateable=False,
            nillable=False,
            defaulted_on_create=True,
            reference_to=("User",),
        ),
        FieldDef("EventUuid", "string", length=36, createable=False, updateable=False, defaulted_on_create=True),
        *fields,
    ]
    return SObjectType(name, key_prefix, custom=True, kind="event", fields={f.name: f for f in every})


def standard_objects() -> list[SObjectType]:
    """Account, Contact, Lead, Opportunity and PushTopic with the fields the tests use (a subset of the real ones)."""
    industries = ("Agriculture", "Banking", "Education", "Energy", "Technology")
    return [
        data_object(
            "Account",
            "001",
            [
                FieldDef("Name", "string", label="Account Name", nillable=False),
                FieldDef("AccountNumber", "string", length=40),
                FieldDef("Type", "picklist", picklist_values=("Prospect", "Customer - Direct", "Other")),
                FieldDef("Industry", "picklist", picklist_values=industries),
                FieldDef("AnnualRevenue", "currency"),
                FieldDef("NumberOfEmployees", "int"),
                FieldDef("Phone", "phone", length=40),
                FieldDef("Website", "url"),
                FieldDef("BillingCity", "string", length=40),
                FieldDef("ShippingCity", "string", length=40),
                FieldDef("Description", "textarea"),
            ],
        ),
        data_object(
            "Contact",
            "003",
            [
                FieldDef(
                    "AccountId", "reference", label="Account ID", reference_to=("Account",), relationship_name="Account"
                ),
                FieldDef("FirstName", "string", length=40),
                FieldDef("LastName", "string", length=80, nillable=False),
                FieldDef(
                    "Name",
                    "string",
                    length=121,
                    createable=False,
                    updateable=False,
                    nillable=False,
                    defaulted_on_create=True,
                    calculated=True,
                ),
                FieldDef("Email", "email", length=80),
                FieldDef("Phone", "phone", length=40),
                FieldDef("Birthdate", "date"),
            ],
        ),
        data_object(
            "Lead",
            "00Q",
            [
                FieldDef("FirstName", "string", length=40),
                FieldDef("LastName", "string", length=80, nillable=False),
                FieldDef(
                    "Name",
                    "string",
                    length=121,
                    createable=False,
                    updateable=False,
                    nillable=False,
                    defaulted_on_create=True,
                    calculated=True,
                ),
                FieldDef("Company", "string", nillable=False),
                FieldDef("Email", "email", length=80),
                FieldDef(
                    "Status",
                    "picklist",
                    nillable=False,
                    defaulted_on_create=True,
                    default_value="Open - Not Contacted",
                    picklist_values=("Open - Not Contacted", "Working - Contacted", "Closed - Converted"),
                ),
            ],
        ),
        data_object(
            "Opportunity",
            "006",
            [
                FieldDef(
                    "AccountId", "reference", label="Account ID", reference_to=("Account",), relationship_name="Account"
                ),
                FieldDef("Name", "string", length=120, nillable=False),
                FieldDef(
                    "StageName",
                    "picklist",
                    nillable=False,
                    picklist_values=("Prospecting", "Qualification", "Closed Won", "Closed Lost"),
                ),
                FieldDef("CloseDate", "date", nillable=False),
                FieldDef("Amount", "currency"),
            ],
        ),
        data_object(
            "PushTopic",
            "0IF",
            [
                FieldDef("Name", "string", length=25, nillable=False, unique=True),
                FieldDef("Query", "textarea", length=1300, nillable=False),
                FieldDef("ApiVersion", "double", nillable=False, precision=18, scale=1),
                FieldDef("IsActive", "boolean", nillable=False, defaulted_on_create=True, default_value=True),
                FieldDef(
                    "NotifyForFields",
                    "picklist",
                    nillable=False,
                    defaulted_on_create=True,
                    default_value="Referenced",
                    picklist_values=("All", "Referenced", "Select", "Where"),
                ),
                FieldDef(
                    "NotifyForOperationCreate", "boolean", nillable=False, defaulted_on_create=True, default_value=True
                ),
                FieldDef(
                    "NotifyForOperationUpdate", "boolean", nillable=False, defaulted_on_create=True, default_value=True
                ),
                FieldDef(
                    "NotifyForOperationDelete", "boolean", nillable=False, defaulted_on_create=True, default_value=True
                ),
                FieldDef(
                    "NotifyForOperationUndelete",
                    "boolean",
                    nillable=False,
                    defaulted_on_create=True,
                    default_value=True,
                ),
                FieldDef("Description", "string", length=400),
            ],
        ),
    ]
