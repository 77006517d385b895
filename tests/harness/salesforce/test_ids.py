"""Record ids: the 18-character form of documented 15-character ids, and case-insensitive 18-character ids."""

from __future__ import annotations

import pytest

from tests.harness.salesforce import ids

DOCUMENTED = [
    "001D000000IqhSLIAZ",
    "001D000000IRFmaIAH",
    "00190000001pPvHAAU",
    "a00D0000008pQRAIA2",
    "005R0000000UyrWIAS",
]


@pytest.mark.parametrize("record_id", DOCUMENTED)
def test_the_suffix_of_documented_ids(record_id: str) -> None:
    assert ids.to_18(record_id[:15]) == record_id


@pytest.mark.parametrize("record_id", DOCUMENTED)
def test_an_18_character_id_in_any_case_is_the_same_id(record_id: str) -> None:
    assert ids.normalize(record_id.lower()) == record_id
    assert ids.normalize(record_id.upper()) == record_id
    assert ids.normalize(record_id[:15]) == record_id


def test_not_ids() -> None:
    assert ids.normalize("001D000000IqhSLIA9") is None
    assert ids.normalize("not-an-id") is None
    assert ids.normalize("001D000000IqhS") is None


def test_allocated_ids_keep_their_prefix_and_order() -> None:
    allocator = ids.IdAllocator()
    made = [allocator.next("001") for _ in range(70)]
    assert all(len(i) == 18 and i.startswith("0015g") and ids.normalize(i) == i for i in made)
    assert [i[:15] for i in made] == sorted(i[:15] for i in made)
