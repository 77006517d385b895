"""The SOQL subset on its own: what parses, how it filters and sorts, and the errors for what it refuses."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.salesforce import errors, soql
from tests.harness.salesforce.org import Org

ORG = Org()


def parse(text: str) -> soql.Query:
    return soql.parse(text, ORG.find_type)


def error_of(text: str) -> errors.ApiError:
    with pytest.raises(errors.ApiError) as failure:
        parse(text)
    return failure.value


ROWS: list[dict[str, Any]] = [
    {
        "Id": "1",
        "Name": "alpha",
        "NumberOfEmployees": 5,
        "Industry": "Banking",
        "SystemModstamp": "2024-01-01T00:00:00.000+0000",
    },
    {
        "Id": "2",
        "Name": "Beta",
        "NumberOfEmployees": None,
        "Industry": "Energy",
        "SystemModstamp": "2024-01-02T00:00:00.000+0000",
    },
    {
        "Id": "3",
        "Name": "gamma",
        "NumberOfEmployees": 50,
        "Industry": None,
        "SystemModstamp": "2024-01-03T00:00:00.000+0000",
    },
]


def names(text: str) -> list[str]:
    return [row["Name"] for row in parse(text).run(ROWS)]


def test_fields_are_canonical_and_case_insensitive() -> None:
    query = parse("select id, NAME from account")
    assert query.sobject == "Account"
    assert query.fields == ("Id", "Name")


def test_comparisons_ignore_case_for_text() -> None:
    assert names("SELECT Name FROM Account WHERE Name = 'BETA'") == ["Beta"]
    assert names("SELECT Name FROM Account WHERE Name LIKE '%a'") == ["alpha", "Beta", "gamma"]
    assert names("SELECT Name FROM Account WHERE Name != 'beta'") == ["alpha", "gamma"]


def test_nulls_match_only_null_comparisons() -> None:
    assert names("SELECT Name FROM Account WHERE NumberOfEmployees = null") == ["Beta"]
    assert names("SELECT Name FROM Account WHERE NumberOfEmployees < 100") == ["alpha", "gamma"]
    assert names("SELECT Name FROM Account WHERE Industry NOT IN ('Banking')") == ["Beta", "gamma"]


def test_datetime_literals_in_any_zone() -> None:
    assert names("SELECT Name FROM Account WHERE SystemModstamp > 2024-01-02T01:00:00+02:00") == ["Beta", "gamma"]
    assert names("SELECT Name FROM Account WHERE SystemModstamp >= 2024-01-02T00:00:00.000Z") == ["Beta", "gamma"]


def test_and_or_not_with_parentheses() -> None:
    text = "SELECT Name FROM Account WHERE (Industry = 'Banking' OR Industry = 'Energy') AND NOT Name = 'alpha'"
    assert names(text) == ["Beta"]


def test_mixing_and_with_or_needs_parentheses() -> None:
    assert error_of("SELECT Name FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'").code == "MALFORMED_QUERY"


def test_order_by_nulls_and_direction_then_limit_and_offset() -> None:
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees") == ["Beta", "alpha", "gamma"]
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees DESC") == ["gamma", "alpha", "Beta"]
    assert names("SELECT Name FROM Account ORDER BY NumberOfEmployees NULLS LAST") == ["alpha", "gamma", "Beta"]
    assert names("SELECT Name FROM Account ORDER BY Name LIMIT 2 OFFSET 1") == ["Beta", "gamma"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("SELECT Nope FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY"),
        ("SELECT Account.Name FROM Contact", "MALFORMED_QUERY"),
        ("SELECT Name, COUNT(Id) FROM Account GROUP BY Name", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE CreatedDate = TODAY", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account LIMIT x", "MALFORMED_QUERY"),
    ],
)
def test_refusals(text: str, code: str) -> None:
    assert error_of(text).code == code


def test_error_messages_point_at_the_column() -> None:
    message = error_of("SELECT Id, Nope FROM Account").message
    assert "ERROR at Row:1:Column:12" in message
    assert "No such column 'Nope' on entity 'Account'" in message


def test_count() -> None:
    query = parse("SELECT COUNT() FROM Account WHERE Industry != null")
    assert query.count is True
    assert len(query.run(ROWS)) == 2
