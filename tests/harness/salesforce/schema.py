"""sObject types and fields: the metadata the org describes, and the conversion of incoming values to the form the
APIs return.

Responsibility: :class:`SObjectType` and :class:`FieldDef` (what ``describe`` reports; the objects an org starts
with are built in ``standard``), and :func:`coerce` (a JSON or CSV value for a field, checked and normalised: ids
to 18 characters, datetimes to ``YYYY-MM-DDTHH:MM:SS.sss+0000``). Values are stored in the form the REST API returns
them, so datetime values of one field sort as strings. Thread-safety: types are mutated only by the org under its
lock.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from tests.harness.salesforce import errors, ids

STRING_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "encryptedstring"}
NUMBER_TYPES = {"double", "currency", "percent"}
FIELD_TYPES = STRING_TYPES | NUMBER_TYPES | {"id", "reference", "boolean", "int", "date", "datetime", "base64"}
SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "base64": "xsd:base64Binary",
    **dict.fromkeys(NUMBER_TYPES, "xsd:double"),
}
DATETIME_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$")


@dataclass
class FieldDef:
    """One field as ``describe`` reports it."""

    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default_value: Any = None
    external_id: bool = False
    unique: bool = False
    case_sensitive: bool = False
    custom: bool = False
    calculated: bool = False
    precision: int = 0
    scale: int = 0
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    picklist_values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in FIELD_TYPES:
            raise ValueError(f"field {self.name}: unknown type {self.type!r}; one of {sorted(FIELD_TYPES)}")
        if not self.label:
            self.label = self.name.removesuffix("__c").replace("_", " ")
        if self.type in STRING_TYPES and not self.length:
            self.length = 32768 if self.type == "textarea" else 255
        if self.type in {"id", "reference"}:
            self.length = 18
        if self.type in NUMBER_TYPES and not self.precision:
            self.precision, self.scale = 18, 2

    @property
    def required(self) -> bool:
        """A value must be given on create (Salesforce: not nillable, createable, not defaulted)."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def id_lookup(self) -> bool:
        return self.type == "id" or self.external_id

    def describe(self) -> dict[str, Any]:
        return {
            "aggregatable": self.type not in {"textarea", "base64"},
            "autoNumber": False,
            "byteLength": self.length * 3 if self.type in STRING_TYPES or self.type in {"id", "reference"} else 0,
            "calculated": self.calculated,
            "caseSensitive": self.case_sensitive,
            "createable": self.createable,
            "custom": self.custom,
            "defaultValue": self.default_value,
            "defaultedOnCreate": self.defaulted_on_create,
            "digits": 9 if self.type == "int" else 0,
            "externalId": self.external_id,
            "filterable": self.type != "textarea",
            "groupable": self.type not in {"textarea", "double", "currency", "percent", "datetime", "base64"},
            "idLookup": self.id_lookup,
            "label": self.label,
            "length": self.length if self.type in STRING_TYPES or self.type in {"id", "reference"} else 0,
            "name": self.name,
            "nameField": self.name == "Name",
            "nillable": self.nillable,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default_value,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist_values
            ],
            "precision": self.precision if self.type in NUMBER_TYPES else 0,
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship_name,
            "scale": self.scale if self.type in NUMBER_TYPES else 0,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.type not in {"textarea", "base64"},
            "type": self.type,
            "unique": self.unique,
            "updateable": self.updateable,
        }


@dataclass
class SObjectType:
    """One sObject type: its name, key prefix, kind and fields (in describe order)."""

    name: str
    key_prefix: str
    label: str = ""
    custom: bool = False
    kind: str = "data"  # "data" (queryable records) or "event" (a platform event: published, never stored)
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.label:
            self.label = self.name.removesuffix("__c").removesuffix("__e").replace("_", " ")
        self._by_lower = {name.lower(): definition for name, definition in self.fields.items()}

    def add_field(self, definition: FieldDef) -> None:
        if definition.name.lower() in self._by_lower:
            raise ValueError(f"{self.name} already has a field {definition.name}")
        self.fields[definition.name] = definition
        self._by_lower[definition.name.lower()] = definition

    def field(self, name: str) -> FieldDef | None:
        """A field by name, case-insensitively (as SOQL and the REST API match them)."""
        return self._by_lower.get(name.lower())

    @property
    def is_event(self) -> bool:
        return self.kind == "event"

    def urls(self, version: str) -> dict[str, str]:
        base = f"/services/data/v{version}/sobjects/{self.name}"
        return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}

    def global_entry(self, version: str) -> dict[str, Any]:
        data = not self.is_event
        return {
            "activateable": False,
            "associateEntityType": None,
            "associateParentEntity": None,
            "createable": True,
            "custom": self.custom,
            "customSetting": False,
            "deepCloneable": False,
            "deletable": data,
            "deprecatedAndHidden": False,
            "feedEnabled": False,
            "hasSubtypes": False,
            "isInterface": False,
            "isSubtype": False,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label + "s",
            "layoutable": data,
            "mergeable": False,
            "mruEnabled": False,
            "name": self.name,
            "queryable": data,
            "replicateable": data,
            "retrieveable": data,
            "searchable": False,
            "triggerable": True,
            "undeletable": data,
            "updateable": data,
            "urls": self.urls(version),
        }

    def describe(self, version: str) -> dict[str, Any]:
        return {
            **self.global_entry(version),
            "childRelationships": [],
            "fields": [definition.describe() for definition in self.fields.values()],
            "recordTypeInfos": [],
        }


def format_datetime(moment: datetime.datetime) -> str:
    moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def format_epoch_ms(epoch_ms: int) -> str:
    return format_datetime(datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC))


def parse_datetime(text: str) -> datetime.datetime | None:
    """A datetime in any of the ISO 8601 forms Salesforce accepts (zone required), else None."""
    match = DATETIME_RE.match(text.strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if zone == "Z":
        offset = datetime.timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        return datetime.datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second),
            micros,
            tzinfo=datetime.timezone(offset),
        )
    except ValueError:
        return None


def coerce(definition: FieldDef, value: Any) -> Any:
    """``value`` (from JSON, or a CSV string) as this field stores it; a wrong value raises :class:`ApiError`."""
    if value is None:
        return None
    kind = definition.type
    if kind in STRING_TYPES:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise errors.json_parser_error(
                f"Cannot deserialize instance of string from {type(value).__name__} value {value!r}"
            )
        text = str(value)
        if len(text) > definition.length:
            raise errors.string_too_long(definition.name, definition.length, text)
        return text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return value.lower() == "true"
        raise errors.json_parser_error(f"Cannot deserialize instance of boolean from value {value!r}")
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            return int(value)
        raise errors.json_parser_error(f"Cannot deserialize instance of int from value {value!r}")
    if kind in NUMBER_TYPES:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise errors.json_parser_error(f"Cannot deserialize instance of double from value {value!r}")
    if kind == "date":
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value.strip()[:10]).isoformat()
            except ValueError:
                pass
        raise errors.json_parser_error(f"Cannot deserialize instance of date from value {value!r}")
    if kind == "datetime":
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise errors.json_parser_error(f"Cannot deserialize instance of datetime from value {value!r}")
        return format_datetime(parsed)
    if kind in {"id", "reference"}:
        normal = ids.normalize(value) if isinstance(value, str) else None
        if normal is None:
            raise errors.ApiError(
                400, "MALFORMED_ID", f"{definition.label}: id value of incorrect type: {value}", [definition.name]
            )
        return normal
    return value
